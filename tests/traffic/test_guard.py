"""The canary's guard against the production layout with beat checking it every second: a
canary that errors, or whose feedback shows it wrong, is ended automatically, with an
audit entry and the rollback counter behind the ``CanaryRolledBack`` alert."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from core.keys import Keys
from devsupport import Stack, wait_until
from tests.payloads import passengers
from tests.traffic.conftest import BROKEN, V1, V2, worker_samples

pytestmark = pytest.mark.integration
PROPAGATION_SECONDS = 1.0  # every web and worker process follows a policy change within this
CHECKS_SECONDS = 3.0  # three guard checks (LIFEBOAT_GUARD_CHECK_SECONDS=1 on this stack)
WAIT = 60  # seconds a test waits for the guard to act


@pytest.fixture(scope="module")
def guarded(shadow_stack: Stack) -> Iterator[Stack]:
    shadow_stack.start_beat()
    yield shadow_stack
    shadow_stack.redis.delete(Keys().deployment)


def set_policy(stack: Stack, policy: dict[str, Any]) -> None:
    r = stack.http.request("PUT", stack.url("/api/v1/deployment"), json=policy)
    assert r.status_code == 200, r.text
    time.sleep(PROPAGATION_SECONDS)


def predict(stack: Stack, count: int) -> list[dict[str, Any]]:
    """``count`` unpinned two-instance jobs, each waited for."""
    jobs = []
    for i in range(count):
        body = {"instances": passengers(2 + 2 * i)[-2:]}
        r = stack.http.post(stack.url("/api/v1/predictions"), params={"wait": 20}, json=body)
        assert r.status_code == 200, r.text
        jobs.append(r.json())
    return jobs


def policy(stack: Stack) -> dict[str, Any]:
    return stack.http.get(stack.url("/api/v1/deployment")).json()


def rollbacks(stack: Stack, version: str) -> float:
    samples = worker_samples(stack, "reports")
    name = "lifeboat_deployment_guard_rollbacks_total"
    return samples.get((name, (("model_version", version),)), 0.0)


def test_a_canary_that_errors_is_rolled_back_by_its_guard(guarded: Stack) -> None:
    guard = {"max_error_rate": 0.05, "min_predictions": 20}
    set_policy(
        guarded, {"default": V1, "canary": {"version": BROKEN, "share": 1.0}, "guard": guard}
    )
    early = predict(guarded, 5)  # 10 predictions: fewer than min_predictions
    assert {(j["routing"], j["status"]) for j in early} == {("canary", "failed")}
    time.sleep(CHECKS_SECONDS)
    assert policy(guarded)["canary"] == {"version": BROKEN, "share": 1.0}  # not judged yet

    predict(guarded, 5)  # 20 predictions, every one failed
    wait_until(lambda: policy(guarded)["canary"] is None, WAIT, "the guard's rollback")
    shown = policy(guarded)
    assert (shown["default"], shown["guard"]["max_error_rate"]) == (V1, 0.05)
    entry = guarded.http.get(guarded.url("/api/v1/deployment/history?limit=1")).json()
    last = entry["history"][0]
    assert (last["action"], last["who"]["key_id"]) == ("guard", "guard")
    assert last["before"]["canary"]["version"] == BROKEN
    assert last["after"]["canary"] is None
    assert "error rate 1.000 of 20 predictions" in last["reason"]
    assert rollbacks(guarded, BROKEN) == 1
    time.sleep(PROPAGATION_SECONDS)
    after = predict(guarded, 1)[0]
    assert (after["model_version"], after["routing"], after["status"]) == (
        V1,
        "default",
        "succeeded",
    )


def test_a_canary_whose_feedback_shows_it_wrong_is_rolled_back(guarded: Stack) -> None:
    guard = {"max_error_rate": 0.05, "min_accuracy": 0.7, "min_labelled": 10}
    set_policy(guarded, {"default": V1, "canary": {"version": V2, "share": 1.0}, "guard": guard})
    jobs = predict(guarded, 6)
    assert {(j["routing"], j["status"]) for j in jobs} == {("canary", "succeeded")}
    time.sleep(CHECKS_SECONDS)  # no errors, no feedback: it goes on
    assert policy(guarded)["canary"] == {"version": V2, "share": 1.0}

    wrong = {"survived": "died", "died": "survived"}
    items = [
        {"prediction_id": p["prediction_id"], "actual": wrong[p["prediction"]]}
        for j in jobs
        for p in j["result"]["predictions"]
    ]
    r = guarded.http.post(guarded.url("/api/v1/feedback"), json={"items": items})
    assert (r.status_code, r.json()["accepted"]) == (200, 12), r.text
    wait_until(lambda: policy(guarded)["canary"] is None, WAIT, "the guard's rollback")
    last = guarded.http.get(guarded.url("/api/v1/deployment/history?limit=1")).json()["history"][0]
    assert last["action"] == "guard"
    assert "accuracy 0.000 on 12 labelled predictions" in last["reason"]
    assert rollbacks(guarded, V2) == 1
