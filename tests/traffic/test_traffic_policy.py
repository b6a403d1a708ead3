"""The traffic policy against real gunicorn (two workers), a Celery worker and Redis: a
canary's share, stable routing by instance id, pinned requests, promote and rollback on
every web process within a second, and the audit of every change."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from core.keys import Keys
from devsupport import Stack
from tests.traffic.conftest import V1, V2, Conn, one_connection_per_worker

pytestmark = pytest.mark.integration
PROPAGATION_SECONDS = 1.0  # a change reaches every web process within this (the promise)
UNPINNED = 5_000  # requests of the canary-share test
THREADS = 8  # clients sending them at once


def set_policy(stack: Stack, policy: dict[str, Any]) -> dict[str, Any]:
    """PUT the policy, then wait out the time every web process may still use the old one."""
    r = stack.http.request("PUT", stack.url("/api/v1/deployment"), json=policy)
    assert r.status_code == 200, r.text
    time.sleep(PROPAGATION_SECONDS)
    return r.json()


def many(stack: Stack, count: int, instance_id: Any, **kw: Any) -> list[dict[str, Any]]:
    """``count`` one-instance predictions from THREADS clients; ``instance_id(i)`` names
    the i-th one's instance (None: no id). Their 202 answers."""
    local = threading.local()

    def send(i: int) -> dict[str, Any]:
        if not hasattr(local, "conn"):
            local.conn = Conn(stack)
        return local.conn.predict(instance_id(i), **kw)

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(send, range(count)))


def test_with_no_policy_stored_the_models_folders_default_serves(traffic_stack: Stack) -> None:
    traffic_stack.redis.delete(Keys().deployment)
    time.sleep(PROPAGATION_SECONDS)
    shown = traffic_stack.http.get(traffic_stack.url("/api/v1/deployment")).json()
    assert (shown["default"], shown["canary"], shown["revision"]) == (V1, None, 0)
    job = Conn(traffic_stack).predict("alice")
    assert (job["model_version"], job["routing"]) == (V1, "default")


def test_a_ten_percent_canary_serves_ten_percent_of_5000_unpinned_requests(
    traffic_stack: Stack,
) -> None:
    set_policy(traffic_stack, {"default": V1, "canary": {"version": V2, "share": 0.1}})
    jobs = many(traffic_stack, UNPINNED, lambda i: f"passenger-{i}")
    routed = Counter((j["routing"], j["model_version"]) for j in jobs)
    assert set(routed) == {("default", V1), ("canary", V2)}
    assert 0.08 * UNPINNED <= routed[("canary", V2)] <= 0.12 * UNPINNED, routed
    canary_job = next(j for j in jobs if j["routing"] == "canary")
    done = traffic_stack.http.get(traffic_stack.url(f"/api/v1/jobs/{canary_job['id']}?wait=20"))
    assert done.json()["status"] == "succeeded", done.text
    assert (done.json()["model_version"], done.json()["routing"]) == (V2, "canary")


def test_requests_without_an_instance_id_go_to_the_canary_at_random(
    traffic_stack: Stack,
) -> None:
    set_policy(traffic_stack, {"default": V1, "canary": {"version": V2, "share": 0.1}})
    jobs = many(traffic_stack, 1_000, lambda i: None)
    canary = sum(j["routing"] == "canary" for j in jobs)
    assert 60 <= canary <= 140  # 10 % of 1,000, +-4 standard deviations of a binomial


def test_the_same_instance_id_always_hits_the_same_version(traffic_stack: Stack) -> None:
    set_policy(traffic_stack, {"default": V1, "canary": {"version": V2, "share": 0.5}})
    conns = one_connection_per_worker(traffic_stack)
    seen: dict[str, set[str]] = {}
    for _ in range(3):
        for conn in conns:
            for i in range(40):
                job = conn.predict(f"same-{i}")
                seen.setdefault(f"same-{i}", set()).add(job["model_version"])
    assert all(len(versions) == 1 for versions in seen.values()), seen
    assert set().union(*seen.values()) == {V1, V2}  # both versions serve some ids


def test_pinned_requests_are_never_rerouted(traffic_stack: Stack) -> None:
    set_policy(traffic_stack, {"default": V1, "canary": {"version": V2, "share": 1.0}})
    pinned = many(traffic_stack, 200, lambda i: f"pinned-{i}", version=V1)
    assert {(j["model_version"], j["routing"]) for j in pinned} == {(V1, "pinned")}
    unpinned = many(traffic_stack, 20, lambda i: f"pinned-{i}")
    assert {(j["model_version"], j["routing"]) for j in unpinned} == {(V2, "canary")}


def test_promote_and_rollback_reach_both_gunicorn_workers_within_a_second(
    traffic_stack: Stack,
) -> None:
    set_policy(traffic_stack, {"default": V1})
    first, second = one_connection_per_worker(traffic_stack)
    for conn in (first, second):  # each worker has read the policy: V1 serves
        assert conn.predict("promoted")["model_version"] == V1

    status, policy = first.call("POST", f"/api/v1/models/{V2}/promote")
    changed = time.monotonic()
    assert (status, policy["default"], policy["previous_default"]) == (200, V2, V1)
    time.sleep(max(0.0, changed + PROPAGATION_SECONDS - time.monotonic()))
    for conn in (second, first):
        job = conn.predict("promoted")
        assert (job["model_version"], job["routing"]) == (V2, "default"), conn.worker

    status, policy = second.call("POST", "/api/v1/deployment/rollback")
    changed = time.monotonic()
    assert (status, policy["default"], policy["previous_default"]) == (200, V1, None)
    time.sleep(max(0.0, changed + PROPAGATION_SECONDS - time.monotonic()))
    for conn in (first, second):
        job = conn.predict("promoted")
        assert (job["model_version"], job["routing"]) == (V1, "default"), conn.worker

    status, problem = first.call("POST", "/api/v1/deployment/rollback")
    assert status == 409
    assert "no previous default" in problem["detail"]


def test_promoting_the_canary_ends_it_and_serves_it_to_everyone(traffic_stack: Stack) -> None:
    set_policy(traffic_stack, {"default": V1, "canary": {"version": V2, "share": 0.1}})
    r = traffic_stack.http.post(traffic_stack.url(f"/api/v1/models/{V2}/promote"))
    assert (r.json()["default"], r.json()["canary"]) == (V2, None)
    time.sleep(PROPAGATION_SECONDS)
    jobs = many(traffic_stack, 50, lambda i: f"after-promote-{i}")
    assert {(j["model_version"], j["routing"]) for j in jobs} == {(V2, "default")}


def test_the_history_lists_each_change_with_who_when_before_and_after(
    traffic_stack: Stack,
) -> None:
    release = traffic_stack.make_key("release", "admin")
    url = traffic_stack.url
    assert release.request("PUT", url("/api/v1/deployment"), json={"default": V1}).ok
    assert release.post(url(f"/api/v1/models/{V2}/promote")).ok
    assert release.post(url("/api/v1/deployment/rollback")).ok
    r = traffic_stack.http.get(url("/api/v1/deployment/history"), params={"limit": 3})
    history = r.json()["history"]
    assert [e["action"] for e in history] == ["rollback", "promote", "set"]
    assert all(e["who"] == {"key_id": release.key_id, "tenant": "release"} for e in history)
    assert history[1]["before"]["default"] == V1
    assert history[1]["after"]["default"] == V2
    assert history[0]["before"] == history[1]["after"]  # newest first, each from the last
    assert history[1]["before"] == history[2]["after"]
    assert all(e["at"].endswith("Z") for e in history)


def test_a_policy_naming_what_is_not_installed_or_a_bad_share_is_422_naming_each_field(
    traffic_stack: Stack,
) -> None:
    before = traffic_stack.http.get(traffic_stack.url("/api/v1/deployment")).json()
    r = traffic_stack.http.request(
        "PUT",
        traffic_stack.url("/api/v1/deployment"),
        json={"default": "v-none", "canary": {"version": V2, "share": 1.5}, "shadow": ["nope"]},
    )
    assert r.status_code == 422
    assert r.headers["Content-Type"] == "application/problem+json"
    locs = sorted(tuple(e["loc"]) for e in r.json()["errors"])
    assert locs == [("canary", "share"), ("default",), ("shadow", 0)]
    after = traffic_stack.http.get(traffic_stack.url("/api/v1/deployment")).json()
    assert after == before  # nothing changed
    missing = traffic_stack.http.post(traffic_stack.url("/api/v1/models/v-none/promote"))
    assert missing.status_code == 404
    wrong_type = traffic_stack.http.request(
        "PUT", traffic_stack.url("/api/v1/deployment"), json={"default": V1, "canary": [None]}
    )
    assert wrong_type.status_code == 422
    assert wrong_type.json()["errors"] == [{"loc": ["canary"], "msg": "must be an object or null"}]
