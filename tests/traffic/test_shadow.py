"""Shadow versions against a stack deployed as in production: the scoring worker
(``predictions,batches``), the reports worker (``reports,webhooks,shadow``), gunicorn and
Redis. A shadow scores every prediction job once, logged as shadow with the primary's ids;
a failing or absent shadow never fails or holds up a primary job."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from celery import Celery

from core.keys import Keys
from core.prediction_log import LogRecord, PredictionLog
from core.queue import SHADOW_PREDICT_TASK, SHADOW_QUEUE, make_celery
from core.settings import Settings
from devsupport import Stack, wait_until
from tests.payloads import passengers
from tests.traffic.conftest import BROKEN, V1, V2, start_reports, worker_samples

pytestmark = pytest.mark.integration
PROPAGATION_SECONDS = 1.0  # every web and worker process follows a policy change within this
JOBS = 12  # prediction jobs per test
WAIT = 60  # seconds a test waits for shadow entries


def set_policy(stack: Stack, policy: dict[str, Any]) -> None:
    r = stack.http.request("PUT", stack.url("/api/v1/deployment"), json=policy)
    assert r.status_code == 200, r.text
    time.sleep(PROPAGATION_SECONDS)


def predict(stack: Stack, i: int, version: str | None = None) -> dict[str, Any]:
    """A two-instance job, waited for: its finished record."""
    body: dict[str, Any] = {"instances": passengers(2 + 2 * i)[-2:]}
    if version is not None:
        body["model_version"] = version
    r = stack.http.post(stack.url("/api/v1/predictions"), params={"wait": 20}, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def entries(stack: Stack, job_ids: set[str]) -> list[LogRecord]:
    """Every log entry of these jobs, oldest first."""
    window = PredictionLog(stack.redis, Keys()).window(version=None)
    return [r for r in window.records if r.job_id in job_ids]


def shadow_entries(stack: Stack, job_ids: set[str], version: str) -> dict[str, LogRecord]:
    """The shadow entries of ``version`` for these jobs, once there is one for each."""
    found: dict[str, LogRecord] = {}

    def all_there() -> bool:
        found.clear()
        found.update(
            {
                r.job_id: r
                for r in entries(stack, job_ids)
                if r.shadow and r.model_version == version
            }
        )
        return set(found) == job_ids

    wait_until(all_there, WAIT, f"shadow entries of {version}", stack.procs["reports"])
    return found


def test_a_shadow_version_scores_every_prediction_job_and_logs_it_as_shadow_with_its_ids(
    shadow_stack: Stack,
) -> None:
    set_policy(shadow_stack, {"default": V1, "shadow": [V2]})
    unpinned = [predict(shadow_stack, i) for i in range(JOBS)]
    pinned = [predict(shadow_stack, i, version=V1) for i in range(2)]
    own = predict(shadow_stack, 0, version=V2)  # V2's own job: not shadowed by V2
    jobs = unpinned + pinned
    assert {j["status"] for j in [*jobs, own]} == {"succeeded"}
    ids = {j["id"] for j in jobs}
    shadows = shadow_entries(shadow_stack, ids, V2)

    for job in jobs:
        primary = [r for r in entries(shadow_stack, {job["id"]}) if not r.shadow]
        assert [(r.model_version, r.numbers) for r in primary] == [(V1, [0, 1])]
        shadow = shadows[job["id"]]
        assert (shadow.numbers, shadow.features) == (primary[0].numbers, primary[0].features)
        assert shadow.tenant == primary[0].tenant
        assert shadow.prediction_ids() == [p["prediction_id"] for p in job["result"]["predictions"]]
        # scored after the primary's answer was out, never before
        assert shadow.ts >= primary[0].ts
    # the shadow predicts what V2 predicts when asked: the first instances of job 0
    pinned_v2 = own["result"]["predictions"]
    first = shadows[unpinned[0]["id"]]
    assert first.prediction == [p["prediction"] for p in pinned_v2]
    assert first.probabilities == {
        c: [p["probabilities"][c] for p in pinned_v2] for c in first.probabilities
    }
    time.sleep(1)  # a shadow of V2's own job would have come by now with the others
    assert [r.shadow for r in entries(shadow_stack, {own["id"]})] == [False]

    samples = worker_samples(shadow_stack, "reports")
    shadowed = sum(
        v
        for (name, labels), v in samples.items()
        if name == "ml_predictions_total" and ("role", "shadow") in labels
        if ("model_version", V2) in labels
    )
    assert shadowed >= 2 * len(jobs)


def test_feedback_on_a_shadowed_prediction_joins_the_primary_version(shadow_stack: Stack) -> None:
    set_policy(shadow_stack, {"default": V1, "shadow": [V2]})
    job = predict(shadow_stack, 1)
    shadow_entries(shadow_stack, {job["id"]}, V2)  # the shadow entry is logged after
    prediction_id = job["result"]["predictions"][0]["prediction_id"]
    r = shadow_stack.http.post(
        shadow_stack.url("/api/v1/feedback"),
        json={"items": [{"prediction_id": prediction_id, "actual": "survived"}]},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["model_versions"]) == (1, [V1])


def test_a_failing_shadow_never_fails_a_primary_job(shadow_stack: Stack) -> None:
    before = worker_samples(shadow_stack, "reports")
    set_policy(shadow_stack, {"default": V1, "shadow": [BROKEN, V2]})
    jobs = [predict(shadow_stack, i) for i in range(JOBS)]
    assert [j["status"] for j in jobs] == ["succeeded"] * JOBS
    assert {p["model_version"] for j in jobs for p in j["result"]["predictions"]} == {V1}
    ids = {j["id"] for j in jobs}
    shadow_entries(shadow_stack, ids, V2)  # the other shadow still scores them all

    def errors(samples: dict) -> float:
        return sum(
            v
            for (name, labels), v in samples.items()
            if name == "ml_prediction_errors_total"
            if ("model_version", BROKEN) in labels and ("role", "shadow") in labels
        )

    wait_until(
        lambda: errors(worker_samples(shadow_stack, "reports")) - errors(before) == JOBS,
        WAIT,
        f"{JOBS} shadow errors of {BROKEN}",
    )
    assert not [r for r in entries(shadow_stack, ids) if r.model_version == BROKEN]


def test_primary_jobs_finish_while_no_worker_takes_shadow_work(shadow_stack: Stack) -> None:
    """The primary's answer never waits for its shadow: with the shadow queue's only
    consumer stopped, jobs still succeed and their shadow messages wait in the queue."""
    set_policy(shadow_stack, {"default": V1, "shadow": [V2]})
    shadow_stack.stop("reports")
    try:
        jobs = [predict(shadow_stack, i) for i in range(JOBS)]
        assert [j["status"] for j in jobs] == ["succeeded"] * JOBS
        ids = {j["id"] for j in jobs}
        assert not [r for r in entries(shadow_stack, ids) if r.shadow]
        assert shadow_stack.redis.llen(SHADOW_QUEUE) >= 1
    finally:
        start_reports(shadow_stack)
    shadows = shadow_entries(shadow_stack, ids, V2)
    finished = {j["id"]: j["finished_at"] for j in jobs}
    assert all(shadows[i].ts > _epoch(finished[i]) for i in ids)


def test_a_shadow_message_delivered_twice_logs_once(shadow_stack: Stack) -> None:
    set_policy(shadow_stack, {"default": V1})  # no shadow of its own: only the sent ones
    job = predict(shadow_stack, 2)
    record = next(r for r in entries(shadow_stack, {job["id"]}) if not r.shadow)
    payload = json.dumps(
        [
            {
                "job_id": job["id"],
                "numbers": record.numbers,
                "features": record.features,
                "tenant": record.tenant,
            }
        ]
    )
    app = celery_app(shadow_stack)
    task_id = f"twice-{job['id']}"
    for _ in range(2):  # the same task id twice: a redelivery
        app.send_task(SHADOW_PREDICT_TASK, args=[V2, payload], task_id=task_id)
    reports = shadow_stack.procs["reports"]
    wait_until(
        lambda: reports.output().count(f"{task_id}] succeeded") == 2,
        WAIT,
        "both deliveries to have run",
        reports,
    )
    assert "logged already by an earlier delivery" in reports.output()
    shadows = [r for r in entries(shadow_stack, {job["id"]}) if r.shadow]
    assert [(r.model_version, r.numbers) for r in shadows] == [(V2, [0, 1])]


# --- helpers ------------------------------------------------------------------------------
def celery_app(stack: Stack) -> Celery:
    return make_celery(Settings(redis_url=stack.env["LIFEBOAT_REDIS_URL"]))


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


@pytest.fixture(autouse=True)
def _no_policy_left(shadow_stack: Stack) -> Iterator[None]:
    yield
    shadow_stack.redis.delete(Keys().deployment)
