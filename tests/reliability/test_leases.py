"""Leases with real processes: a killed worker's work is finished elsewhere, a lost message
is published again, a part that keeps hitting its hard time limit ends as ``poison``."""

from __future__ import annotations

from typing import Any

import pytest

from core.keys import Keys
from devsupport import Proc, Stack, free_port, wait_until
from tests.batches.helpers import finished, job, result, rows, to_csv, upload
from tests.batches.test_batch_api import SMALL_PARTS
from tests.payloads import passengers

pytestmark = pytest.mark.integration

LEASES = {  # short leases and a sweep every second, so a rescue takes seconds, not minutes
    "LIFEBOAT_RUNNING_LEASE_SECONDS": "3",
    "LIFEBOAT_CLAIM_LEASE_SECONDS": "3",
    "LIFEBOAT_QUEUED_LEASE_SECONDS": "3",
    "LIFEBOAT_LEASE_SWEEP_SECONDS": "1",
}
PUBLISHED_AGAIN = "expired leases published again"  # the sweeper's log line
PART_RECEIVED = "Task lifeboat.score_batch_part["  # logged when a worker takes a part
RESCUE_TIMEOUT = 120.0  # seconds a rescued job has to finish on this busy machine


def worker(stack: Stack, **env: str) -> Proc:
    return stack.start_worker(
        concurrency=1, extra_env={"LIFEBOAT_WORKER_METRICS_PORT": str(free_port()), **env}
    )


def kill_main_process(proc: Proc) -> None:
    """SIGKILL the worker's main process alone (its pool children die with it: Celery
    gives them a parent-death signal); nothing of it runs its shutdown."""
    proc.popen.kill()
    proc.popen.wait(timeout=30)


def attempts(stack: Stack, job_id: str) -> int:
    return int(stack.redis.hget(Keys().job(job_id), "attempts") or 0)


@pytest.fixture
def leased_stack(fresh_stack: Stack) -> Stack:
    fresh_stack.env.update(LEASES)
    return fresh_stack


def test_a_batch_whose_worker_main_process_is_killed_finishes_elsewhere_every_row_once(
    leased_stack: Stack,
) -> None:
    stack = leased_stack
    stack.env.update(SMALL_PARTS, LIFEBOAT_BATCH_FAULT_DELAY_SECONDS="0.3")
    first = worker(stack)
    stack.start_web()
    stack.start_beat()
    records = rows(800)
    job_id = upload(stack, to_csv(records), id_column="passenger").json()["id"]
    wait_until(lambda: PART_RECEIVED in first.output(), 60, "a part on the first worker")
    wait_until(lambda: job(stack, job_id)["progress"]["done"] > 0, 60, "a part to score")
    kill_main_process(first)
    second = worker(stack)
    done = finished(stack, job_id, timeout=RESCUE_TIMEOUT)
    assert done["status"] == "succeeded", done
    assert [r["passenger"] for r in result(stack, job_id)] == [r["passenger"] for r in records]
    assert PUBLISHED_AGAIN in second.output()  # the part the killed worker held: the sweeper's


def drift_report_job(stack: Stack) -> str:
    r = stack.http.post(
        stack.url("/api/v1/predictions"),
        json={"instances": passengers(200)},
        params={"wait": 30},
        timeout=60,
    )
    assert r.json()["status"] == "succeeded", r.text
    r = stack.http.post(
        stack.url("/api/v1/reports"), json={"type": "drift", "window": {"last": 200}}, timeout=30
    )
    assert r.status_code == 202, r.text
    return r.json()["id"]


def test_a_report_whose_worker_main_process_is_killed_is_built_by_the_next_worker(
    leased_stack: Stack,
) -> None:
    stack = leased_stack
    first = worker(stack, LIFEBOAT_REPORT_FAULT_DELAY_SECONDS="30")
    stack.start_web()
    stack.start_beat()
    job_id = drift_report_job(stack)
    wait_until(lambda: job(stack, job_id)["status"] == "running", 60, "the report to run")
    kill_main_process(first)
    second = worker(stack)
    done = finished(stack, job_id, timeout=RESCUE_TIMEOUT)
    assert done["status"] == "succeeded", done
    assert done["result"]["summary"]["current_rows"] == 200
    assert attempts(stack, job_id) == 2  # the killed one, and the second worker's
    assert PUBLISHED_AGAIN in second.output()


def test_a_part_killed_at_its_hard_time_limit_is_retried_then_fails_as_poison(
    fresh_stack: Stack,
) -> None:
    proc = worker(
        fresh_stack,
        # every part stalls deaf to its soft limit (2 s), so the hard one (4 s) kills it
        LIFEBOAT_BATCH_FAULT_STALL_SECONDS="60",
        LIFEBOAT_BATCH_SOFT_TIME_LIMIT="2",
        LIFEBOAT_BATCH_TIME_LIMIT="4",
        LIFEBOAT_MAX_ATTEMPTS="2",
    )
    fresh_stack.start_web()
    job_id = upload(fresh_stack, to_csv(rows(50))).json()["id"]
    done = finished(fresh_stack, job_id, timeout=RESCUE_TIMEOUT)
    assert done["status"] == "failed", done
    assert done["error"]["type"] == "poison"
    assert done["error"]["detail"].startswith(f"part 0 of batch job {job_id} was attempted 2 ")
    assert "last failure: TimeLimitExceeded" in done["error"]["detail"]
    log = proc.output()
    assert log.count("Hard time limit (4s) exceeded for lifeboat.score_batch_part") == 2
    assert log.count("killed at its time limit: queued again") == 2
    assert proc.alive()


def drop_messages(stack: Stack) -> None:
    """Delete every task message: as if the web had died between writing and publishing."""
    for queue in ("predictions", "batches"):
        for key in stack.redis.scan_iter(f"{queue}*"):
            stack.redis.delete(key)


def test_jobs_written_but_never_published_are_published_by_the_sweeper_and_finish(
    leased_stack: Stack,
) -> None:
    stack = leased_stack
    stack.start_web()  # no worker yet: the messages wait in Redis, where they are dropped
    prediction = stack.http.post(
        stack.url("/api/v1/predictions"), json={"instances": passengers(3)}, timeout=30
    ).json()["id"]
    records = rows(100)
    batch = upload(stack, to_csv(records), id_column="passenger").json()["id"]
    drop_messages(stack)
    proc = worker(stack)
    stack.start_beat()
    got: dict[str, Any] = {}
    for job_id in (prediction, batch):
        got[job_id] = finished(stack, job_id, timeout=RESCUE_TIMEOUT)
        assert got[job_id]["status"] == "succeeded", got[job_id]
    assert len(got[prediction]["result"]["predictions"]) == 3
    assert [r["passenger"] for r in result(stack, batch)] == [r["passenger"] for r in records]
    assert PUBLISHED_AGAIN in proc.output()
