"""Soft time limits end jobs cleanly, with real workers: failed, never left ``running``."""

from __future__ import annotations

import pytest

from devsupport import Stack, wait_until
from tests.batches.helpers import finished, job, rows, storage_files, to_csv, upload
from tests.batches.test_batch_api import SMALL_PARTS
from tests.payloads import passengers

pytestmark = pytest.mark.integration

TIME_LIMIT_ERROR = "TimeLimitExceeded"


def test_a_batch_part_past_its_soft_time_limit_fails_the_job_and_removes_its_files(
    fresh_stack: Stack,
) -> None:
    fresh_stack.env.update(SMALL_PARTS)
    worker = fresh_stack.start_worker(
        concurrency=1,
        extra_env={
            # a part scores ~4 chunks, 1 s apart: past the 2 s soft limit, long before the hard
            "LIFEBOAT_BATCH_FAULT_DELAY_SECONDS": "1.0",
            "LIFEBOAT_BATCH_SOFT_TIME_LIMIT": "2",
            "LIFEBOAT_BATCH_TIME_LIMIT": "60",
        },
    )
    fresh_stack.start_web()
    job_id = upload(fresh_stack, to_csv(rows(600))).json()["id"]
    wait_until(lambda: job(fresh_stack, job_id)["status"] == "running", 30, "the batch to run")
    done = finished(fresh_stack, job_id, timeout=30)
    assert done["status"] == "failed"
    assert done["error"]["type"] == TIME_LIMIT_ERROR
    assert storage_files(fresh_stack, job_id) == []
    assert worker.alive()
    assert "Soft time limit (2s) exceeded for lifeboat.score_batch_part" in worker.output()


def test_prediction_jobs_past_the_soft_time_limit_fail_and_the_worker_goes_on(
    fresh_stack: Stack,
) -> None:
    worker = fresh_stack.start_worker(
        concurrency=1,
        extra_env={
            "LIFEBOAT_FAULT_DELAY_SECONDS": "3",  # every task sleeps past its soft limit
            "LIFEBOAT_PREDICTION_SOFT_TIME_LIMIT": "1",
            "LIFEBOAT_PREDICTION_TIME_LIMIT": "20",
        },
    )
    fresh_stack.start_web()
    url = fresh_stack.url("/api/v1/predictions")
    ids = [
        fresh_stack.http.post(url, json={"instances": passengers(2)}, timeout=5).json()["id"]
        for _ in range(3)
    ]
    for job_id in ids:
        got = job(fresh_stack, job_id, wait=20)
        assert got["status"] == "failed", got
        assert got["error"]["type"] == TIME_LIMIT_ERROR
    assert worker.alive()
