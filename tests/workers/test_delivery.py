"""At-least-once delivery with real workers: kills, cancellations, long-polls, outages."""

from __future__ import annotations

import os
import signal
import time
from datetime import datetime

import psutil
import pytest

from core.keys import Keys
from devsupport import RedisServer, Stack, wait_until
from tests.logged import logged_records
from tests.payloads import PASSENGER, passengers

pytestmark = pytest.mark.integration
URL = "/api/v1/predictions"


def epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def job(stack: Stack, job_id: str, wait: float = 0) -> dict:
    return stack.http.get(
        stack.url(f"/api/v1/jobs/{job_id}"), params={"wait": wait}, timeout=wait + 10
    ).json()


def log_entries_of(stack: Stack, job_id: str) -> int:
    """Predictions of the job in the prediction log."""
    return sum(len(r) for r in logged_records(stack.redis) if r.job_id == job_id)


def test_long_poll_answers_within_50_ms_of_the_job_finishing(fresh_stack: Stack) -> None:
    fresh_stack.start_worker(extra_env={"LIFEBOAT_FAULT_DELAY_SECONDS": "1.0"})
    fresh_stack.start_web()
    job_id = fresh_stack.http.post(
        fresh_stack.url(URL), json={"instances": [PASSENGER]}, timeout=5
    ).json()["id"]
    asked = time.time()
    got = job(fresh_stack, job_id, wait=10)
    received = time.time()
    assert got["status"] == "succeeded"
    finished = epoch(got["finished_at"])
    assert finished - asked > 0.5  # the client was waiting when the job finished
    assert received - finished < 0.050


def test_a_queued_job_cancelled_while_no_worker_runs_is_never_executed(fresh_stack: Stack) -> None:
    fresh_stack.start_web()
    cancelled = fresh_stack.http.post(
        fresh_stack.url(URL), json={"instances": [PASSENGER]}, timeout=5
    ).json()["id"]
    assert (
        fresh_stack.http.delete(fresh_stack.url(f"/api/v1/jobs/{cancelled}"), timeout=5).json()[
            "status"
        ]
        == "cancelled"
    )
    fresh_stack.start_worker()
    later = fresh_stack.http.post(
        fresh_stack.url(URL), params={"wait": 10}, json={"instances": [PASSENGER]}, timeout=15
    ).json()
    assert later["status"] == "succeeded"  # the worker has drained the queue past our message
    wait_until(lambda: fresh_stack.redis.llen("predictions") == 0, 10, "queue drained")
    got = job(fresh_stack, cancelled)
    assert got["status"] == "cancelled"
    assert got["started_at"] is None
    assert log_entries_of(fresh_stack, cancelled) == 0


def test_a_worker_killed_mid_task_still_ends_the_job_succeeded_once(fresh_stack: Stack) -> None:
    worker = fresh_stack.start_worker(extra_env={"LIFEBOAT_FAULT_DELAY_SECONDS": "3"})
    fresh_stack.start_web()
    job_id = fresh_stack.http.post(
        fresh_stack.url(URL), json={"instances": passengers(3)}, timeout=5
    ).json()["id"]
    wait_until(lambda: job(fresh_stack, job_id)["status"] == "running", 10, "job running")
    children = psutil.Process(worker.popen.pid).children()
    for child in children:  # the pool child running the task dies without a word
        os.kill(child.pid, signal.SIGKILL)
    final = job(fresh_stack, job_id, wait=25)
    assert final["status"] == "succeeded"
    assert len(final["result"]["predictions"]) == 3
    assert int(fresh_stack.redis.hget(Keys().job(job_id), "attempts")) == 2
    assert log_entries_of(fresh_stack, job_id) == 3


def test_redis_down_is_503_with_retry_after(fresh_stack: Stack, own_redis: RedisServer) -> None:
    fresh_stack.start_web()
    assert (
        fresh_stack.http.post(
            fresh_stack.url(URL), json={"instances": [PASSENGER]}, timeout=5
        ).status_code
        == 202
    )
    own_redis.proc.stop()
    r = fresh_stack.http.post(fresh_stack.url(URL), json={"instances": [PASSENGER]}, timeout=15)
    assert r.status_code == 503
    assert r.headers["Retry-After"].isdigit()
    assert r.headers["Content-Type"] == "application/problem+json"
    assert "Traceback" not in r.text
    got = fresh_stack.http.get(fresh_stack.url("/api/v1/jobs/x"), timeout=15)
    assert got.status_code == 503
