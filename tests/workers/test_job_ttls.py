"""Each job type lives its own TTL, set when the web creates or cancels it and when it finishes."""

from __future__ import annotations

import pytest

from core.keys import Keys
from core.settings import Settings
from devsupport import Stack
from tests.batches.helpers import finished, rows, to_csv
from tests.payloads import passengers

pytestmark = pytest.mark.integration

TTLS = {  # seconds; the default (LIFEBOAT_JOB_TTL_SECONDS) stays a day
    "LIFEBOAT_PREDICTION_JOB_TTL_SECONDS": "600",
    "LIFEBOAT_BATCH_JOB_TTL_SECONDS": "7200",
    "LIFEBOAT_REPORT_JOB_TTL_SECONDS": "3600",
}
SLACK = 30  # seconds a TTL may have run down between the write and the check


def ttl(stack: Stack, job_id: str) -> int:
    return stack.redis.ttl(Keys().job(job_id))


def test_a_type_without_its_own_ttl_takes_the_job_ttl() -> None:
    settings = Settings(job_ttl_seconds=5000, batch_job_ttl_seconds=70)
    assert settings.job_ttl("batch") == 70
    assert settings.job_ttl("prediction") == 5000
    assert settings.job_ttl("drift_report") == settings.job_ttl("performance_report") == 5000


def test_every_job_type_lives_its_own_ttl_from_creation_through_cancel_and_finish(
    fresh_stack: Stack,
) -> None:
    fresh_stack.env.update(TTLS)
    fresh_stack.start_web()
    queued = fresh_stack.http.post(
        fresh_stack.url("/api/v1/batches"),
        data=to_csv(rows(20)),
        headers={"Content-Type": "text/csv"},
        timeout=30,
    ).json()
    assert 7200 - SLACK < ttl(fresh_stack, queued["id"]) <= 7200
    fresh_stack.redis.expire(Keys().job(queued["id"]), 100)  # cancelling sets it again
    r = fresh_stack.http.post(fresh_stack.url(f"/api/v1/jobs/{queued['id']}/cancel"), timeout=10)
    assert r.json()["status"] == "cancelled"
    assert 7200 - SLACK < ttl(fresh_stack, queued["id"]) <= 7200

    fresh_stack.start_worker(concurrency=1)
    prediction = fresh_stack.http.post(
        fresh_stack.url("/api/v1/predictions"),
        params={"wait": 10},
        json={"instances": passengers(2)},
        timeout=20,
    ).json()
    assert prediction["status"] == "succeeded"
    assert 600 - SLACK < ttl(fresh_stack, prediction["id"]) <= 600

    batch = fresh_stack.http.post(
        fresh_stack.url("/api/v1/batches"),
        data=to_csv(rows(20)),
        headers={"Content-Type": "text/csv"},
        timeout=30,
    ).json()
    assert finished(fresh_stack, batch["id"])["status"] == "succeeded"
    assert 7200 - SLACK < ttl(fresh_stack, batch["id"]) <= 7200

    # two logged predictions: too few for a report, which fails (and finishes)
    report = fresh_stack.http.post(
        fresh_stack.url("/api/v1/reports"),
        params={"wait": 30},
        json={"type": "drift", "window": {"last": 100}},
        timeout=60,
    ).json()
    assert report["status"] == "failed"
    assert 3600 - SLACK < ttl(fresh_stack, report["id"]) <= 3600
