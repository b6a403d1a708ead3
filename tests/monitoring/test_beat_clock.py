"""Each beat task shows when it last completed and how often it runs (the BeatTaskLate alert)."""

from __future__ import annotations

import time

import pytest
from prometheus_client import REGISTRY

from core.queue import (
    CHECK_DRIFT_TASK,
    CHECK_GUARD_TASK,
    REQUEUE_STALE_TASK,
    SWEEP_BATCH_FILES_TASK,
)
from core.settings import Settings
from devsupport import Stack, wait_until
from tests.monitoring.conftest import sample, worker_samples
from workers import beat

LAST_RUN = "lifeboat_beat_task_last_run_timestamp_seconds"
INTERVAL = "lifeboat_beat_task_interval_seconds"
TASKS = (REQUEUE_STALE_TASK, SWEEP_BATCH_FILES_TASK, CHECK_DRIFT_TASK, CHECK_GUARD_TASK)


def test_a_reports_worker_starts_the_clock_of_the_drift_and_guard_checks_alone() -> None:
    settings = Settings(drift_check_interval_seconds=42, batch_sweep_seconds=7)
    assert beat.expect(settings, ["reports"], now=1000.0) == [CHECK_DRIFT_TASK, CHECK_GUARD_TASK]
    assert REGISTRY.get_sample_value(LAST_RUN, {"task": CHECK_DRIFT_TASK}) == 1000.0
    assert REGISTRY.get_sample_value(INTERVAL, {"task": CHECK_DRIFT_TASK}) == 42.0
    assert REGISTRY.get_sample_value(LAST_RUN, {"task": SWEEP_BATCH_FILES_TASK}) is None
    failed = {"type": "batch", "status": "failed"}
    assert REGISTRY.get_sample_value("lifeboat_jobs_finished_total", failed) == 0.0


def test_the_schedule_runs_each_task_at_its_interval() -> None:
    settings = Settings(
        drift_check_interval_seconds=42,
        batch_sweep_seconds=7,
        lease_sweep_seconds=3,
        guard_check_seconds=5,
    )
    got = {entry["task"]: entry["schedule"] for entry in beat.schedule(settings).values()}
    assert got == {
        REQUEUE_STALE_TASK: 3,
        SWEEP_BATCH_FILES_TASK: 7,
        CHECK_DRIFT_TASK: 42,
        CHECK_GUARD_TASK: 5,
    }


@pytest.mark.integration
def test_the_worker_shows_each_task_late_from_its_start_and_on_time_once_beat_ran_it(
    fresh_stack: Stack,
) -> None:
    fresh_stack.env.update(
        {
            "LIFEBOAT_DRIFT_CHECK_INTERVAL_SECONDS": "1",
            "LIFEBOAT_BATCH_SWEEP_SECONDS": "2",
            "LIFEBOAT_LEASE_SWEEP_SECONDS": "3",
            "LIFEBOAT_GUARD_CHECK_SECONDS": "1",
        }
    )
    fresh_stack.start_worker(concurrency=1)  # consumes every queue
    ready = time.time()
    before = worker_samples(fresh_stack)
    for task in TASKS:
        assert sample(before, LAST_RUN, task=task) <= ready, task
    assert sample(before, INTERVAL, task=REQUEUE_STALE_TASK) == 3.0
    assert sample(before, INTERVAL, task=SWEEP_BATCH_FILES_TASK) == 2.0
    assert sample(before, INTERVAL, task=CHECK_DRIFT_TASK) == 1.0
    assert sample(before, INTERVAL, task=CHECK_GUARD_TASK) == 1.0

    fresh_stack.start_beat()
    got: dict = {}

    def every_task_ran() -> bool:
        got.update(worker_samples(fresh_stack))
        return all(sample(got, LAST_RUN, task=task) > ready for task in TASKS)

    wait_until(every_task_ran, 60, "every beat task ran", fresh_stack.procs["worker"])
    for task in TASKS:
        assert sample(got, LAST_RUN, task=task) <= time.time(), task
