"""Tenants own their jobs, files, labels and idempotency keys; quotas are per tenant."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from core import stores
from core.settings import Settings
from devsupport import KeyedHTTP, Stack
from tests.auth.conftest import batch, csv_of, finished, predict
from tests.payloads import PASSENGER

pytestmark = pytest.mark.integration


def usage(stack: Stack, tenant: str) -> dict[str, int]:
    settings = Settings(redis_url=stack.env["LIFEBOAT_REDIS_URL"])
    return stores.job_store(settings, stack.redis).usage(tenant)


def listed(stack: Stack, http: KeyedHTTP, **params: str) -> list[str]:
    r = http.get(stack.url("/api/v1/jobs"), params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return [j["id"] for j in r.json()["jobs"]]


def test_each_tenant_lists_only_its_own_jobs_and_an_admin_may_ask_for_any(
    held_stack: Stack,
) -> None:
    mine, theirs = (
        held_stack.make_key("list-a", "predict", "read"),
        held_stack.make_key("list-b", "predict", "read"),
    )
    a = [predict(held_stack, mine)["id"] for _ in range(3)]
    b = [predict(held_stack, theirs)["id"] for _ in range(2)]
    assert listed(held_stack, mine) == a[::-1]
    assert listed(held_stack, theirs) == b[::-1]
    assert listed(held_stack, held_stack.http, tenant="list-a") == a[::-1]
    refused = mine.get(held_stack.url("/api/v1/jobs"), params={"tenant": "list-b"})
    assert refused.status_code == 403
    assert listed(held_stack, mine, tenant="list-a") == a[::-1]


def test_another_tenants_job_is_404_to_read_wait_for_cancel_and_download(
    held_stack: Stack,
) -> None:
    owner = held_stack.make_key("own-a", "predict", "batch", "read")
    other = held_stack.make_key("own-b", "predict", "batch", "read")
    queued = predict(held_stack, owner)["id"]
    done = finished(held_stack, owner, batch(held_stack, owner)["id"])
    assert done["status"] == "succeeded"
    unknown = other.get(held_stack.url("/api/v1/jobs/no-such-job"))
    for method, path in [
        ("GET", f"/api/v1/jobs/{queued}"),
        ("GET", f"/api/v1/jobs/{queued}?wait=5"),
        ("POST", f"/api/v1/jobs/{queued}/cancel"),
        ("DELETE", f"/api/v1/jobs/{queued}"),
        ("GET", f"/api/v1/jobs/{done['id']}/result"),
        ("GET", f"/api/v1/jobs/{done['id']}/report"),
    ]:
        r = other.request(method, held_stack.url(path))
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["title"] == unknown.json()["title"]  # as if it did not exist
        assert r.elapsed.total_seconds() < 2  # the long-poll did not wait on it
    job = owner.get(held_stack.url(f"/api/v1/jobs/{queued}")).json()
    assert (job["status"], job["tenant"]) == ("queued", "own-a")
    assert owner.get(held_stack.url(f"/api/v1/jobs/{done['id']}/result")).status_code == 200


def test_feedback_is_accepted_only_for_the_tenants_own_predictions(stack: Stack) -> None:
    owner = stack.make_key("fb-a", "predict", "read", "feedback")
    other = stack.make_key("fb-b", "feedback")
    r = owner.post(
        stack.url("/api/v1/predictions"), params={"wait": 10}, json={"instances": [PASSENGER]}
    )
    assert r.json()["status"] == "succeeded", r.text
    pid = r.json()["result"]["predictions"][0]["prediction_id"]
    item = {"items": [{"prediction_id": pid, "actual": "died"}]}
    theirs = other.post(stack.url("/api/v1/feedback"), json=item).json()
    assert (theirs["accepted"], theirs["unknown"], theirs["unknown_ids"]) == (0, 1, [pid])
    mine = owner.post(stack.url("/api/v1/feedback"), json=item).json()
    assert (mine["accepted"], mine["unknown"]) == (1, 0)


def test_idempotency_keys_are_scoped_per_tenant(held_stack: Stack) -> None:
    a = held_stack.make_key("idem-a", "predict")
    b = held_stack.make_key("idem-b", "predict")
    header = {"Idempotency-Key": "order-42"}
    first = predict(held_stack, a, headers=header)["id"]
    other = predict(held_stack, b, headers=header)["id"]
    assert first != other
    again = a.post(
        held_stack.url("/api/v1/predictions"), json={"instances": [PASSENGER]}, headers=header
    )
    assert (again.json()["id"], again.headers["Idempotent-Replayed"]) == (first, "true")


def test_a_tenant_over_its_job_quota_gets_429_naming_it_and_nothing_is_queued(
    idle_stack: Stack,
) -> None:
    http = idle_stack.make_key("quota-jobs", "predict", max_active_jobs=10)
    queued_before = idle_stack.redis.llen("predictions")

    def submit(_: int) -> int:
        return http.post(
            idle_stack.url("/api/v1/predictions"), json={"instances": [PASSENGER]}
        ).status_code

    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(submit, range(40)))
    assert sorted(answers) == [202] * 10 + [429] * 30
    assert usage(idle_stack, "quota-jobs")["active_jobs"] == 10
    assert idle_stack.redis.llen("predictions") - queued_before <= 10  # messages coalesce
    refused = http.post(idle_stack.url("/api/v1/predictions"), json={"instances": [PASSENGER]})
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["errors"] == [
        {"loc": ["quota", "active_jobs"], "msg": "limit 10 reached"}
    ]
    assert "quota active_jobs is 10" in refused.json()["detail"]


def test_concurrent_batches_and_stored_bytes_are_limited_per_tenant(idle_stack: Stack) -> None:
    body = csv_of(20)
    http = idle_stack.make_key(
        "quota-files", "batch", max_active_batches=2, max_stored_bytes=3 * len(body)
    )

    def send() -> dict:
        r = http.post(
            idle_stack.url("/api/v1/batches"), data=body, headers={"Content-Type": "text/csv"}
        )
        return {**r.json(), "code": r.status_code}

    accepted = [send(), send()]
    assert [a["code"] for a in accepted] == [202, 202]
    third = send()
    assert (third["code"], third["errors"][0]["loc"]) == (429, ["quota", "active_batches"])
    big = idle_stack.make_key("quota-files", "batch", max_stored_bytes=2 * len(body) + 1)
    r = big.post(idle_stack.url("/api/v1/batches"), data=body, headers={"Content-Type": "text/csv"})
    assert (r.status_code, r.json()["errors"][0]["loc"]) == (413, ["quota", "stored_bytes"])
    assert usage(idle_stack, "quota-files") == {
        "active_jobs": 2,
        "active_batches": 2,
        "stored_bytes": 2 * len(body),
    }
    cancel = idle_stack.make_key("quota-files", "batch")
    for job in accepted:  # cancelled: the shares and the files go (the stack is shared)
        assert cancel.post(idle_stack.url(f"/api/v1/jobs/{job['id']}/cancel")).status_code == 200
    assert usage(idle_stack, "quota-files") == {
        "active_jobs": 0,
        "active_batches": 0,
        "stored_bytes": 0,
    }


def test_the_counters_return_to_zero_once_jobs_finish(stack: Stack) -> None:
    http = stack.make_key(
        "quota-done", "predict", "batch", "read", max_active_jobs=500, max_active_batches=50
    )

    def submit(n: int) -> str:
        if n % 5 == 0:
            return batch(stack, http)["id"]
        r = http.post(stack.url("/api/v1/predictions"), json={"instances": [PASSENGER]})
        r.raise_for_status()  # 202, or 200 when the worker was quicker than the answer
        return r.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(submit, range(60)))
    for job_id in ids:
        assert finished(stack, http, job_id)["status"] == "succeeded"
    got = usage(stack, "quota-done")
    assert (got["active_jobs"], got["active_batches"]) == (0, 0)
    results = sum(
        http.get(stack.url(f"/api/v1/jobs/{j}")).json()["result"].get("bytes", 0)
        + http.get(stack.url(f"/api/v1/jobs/{j}")).json()["result"].get("parquet_bytes", 0)
        for j in ids[::5]
    )
    assert got["stored_bytes"] == results  # uploads removed; the results are what is kept
