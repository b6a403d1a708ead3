"""Beat's schedule, and the proof that its tasks run: each task's last-run time and interval.

Beat publishes four housekeeping tasks: the sweep of expired leases (the
at-least-once safety net), the sweep of expired batch files, the scheduled drift check
and the check of the canary's guard. A
task that stops running breaks nothing at once, so each one, when it completes,
sets ``lifeboat_beat_task_last_run_timestamp_seconds{task}`` and
``lifeboat_beat_task_interval_seconds{task}``; the ``BeatTaskLate`` alert fires
when a task has not completed for three intervals. A worker's main process sets
both gauges, with its start time as the last run, for the tasks routed to the
queues it consumes: a task that never runs (beat was never started) is late too.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from core.jobs import JobStatus, JobType
from core.queue import (
    CHECK_DRIFT_TASK,
    CHECK_GUARD_TASK,
    REQUEUE_STALE_TASK,
    ROUTES,
    SWEEP_BATCH_FILES_TASK,
)
from core.settings import Settings
from telemetry import metrics


def intervals(settings: Settings) -> dict[str, float]:
    """Seconds between two runs of each beat task, by task name."""
    return {
        REQUEUE_STALE_TASK: settings.lease_sweep_seconds,
        SWEEP_BATCH_FILES_TASK: settings.batch_sweep_seconds,
        CHECK_DRIFT_TASK: settings.drift_check_interval_seconds,
        CHECK_GUARD_TASK: settings.guard_check_seconds,
    }


def schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Celery's ``beat_schedule``."""
    names = {
        REQUEUE_STALE_TASK: "requeue-stale-jobs",
        SWEEP_BATCH_FILES_TASK: "sweep-batch-files",
        CHECK_DRIFT_TASK: "check-drift",
        CHECK_GUARD_TASK: "check-canary-guard",
    }
    return {
        names[task]: {"task": task, "schedule": seconds}
        for task, seconds in intervals(settings).items()
    }


def ran(settings: Settings, task: str, now: float | None = None) -> None:
    """Record that ``task`` has just completed."""
    metrics.BEAT_TASK_LAST_RUN.labels(task).set(time.time() if now is None else now)
    metrics.BEAT_TASK_INTERVAL.labels(task).set(intervals(settings)[task])


def expect(settings: Settings, queues: Iterable[str], now: float | None = None) -> list[str]:
    """In a worker's main process: start the clock of the beat tasks of ``queues``.

    Also creates the finished-job counters at zero, so that ``rate()`` sees a job
    type's first failure. Returns the tasks expected.
    """
    consumed = set(queues)
    expected = [task for task in intervals(settings) if ROUTES[task] in consumed]
    for task in expected:
        ran(settings, task, now)
    for kind in JobType:
        for status in (s for s in JobStatus if s.terminal):
            metrics.JOBS_FINISHED.labels(kind.value, status.value)
    return expected
