"""A task killed at its hard time limit still ends its jobs.

The soft limit comes first (``SoftTimeLimitExceeded`` inside the task, which
fails or hands back its jobs itself). If a task outlives it, for example stuck in
C code, its pool process is killed at the hard limit and nothing of the task's
own failure handling runs; the worker's main process then sends ``task_failure``
with ``TimeLimitExceeded``, and this module ends the task's jobs from there: a
batch plan fails its job (files first), a report fails, a prediction task's claimed
jobs fail, and a batch part is queued again with its failure recorded (a part may be
killed ``LIFEBOAT_MAX_ATTEMPTS`` times before its job fails as ``poison``).
"""

from __future__ import annotations

import logging
from typing import Any

from billiard.exceptions import TimeLimitExceeded
from celery import Celery, signals

from core.jobs import JobStatus, Outcome, Release
from core.queue import (
    BATCHES_QUEUE,
    BUILD_REPORT_TASK,
    PREDICT_TASK,
    SCORE_BATCH_PART_TASK,
    SCORE_BATCH_TASK,
)
from workers import lifecycle
from workers.batches import ending
from workers.predictions.scoring import fail_claimed
from workers.runtime import Runtime, runtime

log = logging.getLogger("lifeboat.worker")


@signals.task_failure.connect
def end_jobs_of_killed_task(
    sender: Any = None,
    task_id: str | None = None,
    exception: BaseException | None = None,
    args: Any = None,
    **_: object,
) -> None:
    """Only for hard time limits (raised in the main process, never inside a task)."""
    if not isinstance(exception, TimeLimitExceeded) or sender is None or not task_id:
        return
    name = getattr(sender, "name", "")
    try:
        end_jobs(sender.app, name, task_id, list(args or ()), exception)
    except Exception:  # the stale-job sweep and the job TTL remain
        log.exception("could not end the jobs of %s[%s] killed at its time limit", name, task_id)


def end_jobs(app: Celery, name: str, task_id: str, args: list[Any], exc: TimeLimitExceeded) -> None:
    rt = runtime()
    error = lifecycle.error_of(exc)
    if name == PREDICT_TASK:
        fail_claimed(rt, task_id, error)
    elif name == SCORE_BATCH_PART_TASK:
        retry_part(rt, app, task_id, (args[0], int(args[1])), exc)
    elif name == SCORE_BATCH_TASK:
        ending.fail_unexpectedly(rt, args[0], exc)
    elif name == BUILD_REPORT_TASK:
        job = rt.store.get_many([args[0]])[0]
        if job is not None and not job.status.terminal:
            lifecycle.finish(rt, job, Outcome(job.id, JobStatus.FAILED, error=error))


def retry_part(
    rt: Runtime, app: Celery, task_id: str, part: tuple[str, int], exc: TimeLimitExceeded
) -> None:
    """Queue the part (job id, index) again, its failure recorded: its next claim counts
    one more attempt, and past ``LIFEBOAT_MAX_ATTEMPTS`` the job fails as ``poison``."""
    job_id, index = part
    error = lifecycle.failure_text(exc)
    if rt.store.release_part(job_id, index, task_id, Release.RETRY, error):
        app.send_task(SCORE_BATCH_PART_TASK, args=[job_id, index], queue=BATCHES_QUEUE)
        log.warning("part %d of batch job %s killed at its time limit: queued again", index, job_id)
