"""A safety net for at-least-once: re-publish prediction jobs nobody is working on.

A message can be lost outside Celery's guarantees (Redis failed between writing
the job record and publishing its task; a whole worker host vanished and the
broker's visibility timeout is hours long). Beat runs this every few seconds; a
re-published task of a job that has meanwhile finished is a no-op.
"""

from __future__ import annotations

import logging
import time

from celery import Celery

from core.jobs import JobStatus, JobType
from core.queue import PREDICT_TASK
from workers.runtime import Runtime

log = logging.getLogger(__name__)

QUEUED_GRACE_SECONDS = 60.0  # a prediction job queued this long has lost its message


def requeue_stale_jobs(rt: Runtime, app: Celery, *, scan: int = 2_000) -> int:
    now = time.time()
    lease = rt.settings.claim_lease_seconds
    limits = {JobStatus.QUEUED: QUEUED_GRACE_SECONDS, JobStatus.RUNNING: lease}
    stale = [
        job_id
        for job_id, status, since in rt.store.unfinished(JobType.PREDICTION, window=scan)
        if now - since > limits[status]
    ]
    if stale:
        app.send_task(PREDICT_TASK, args=[stale])
        log.warning("re-published %d stale prediction job(s)", len(stale))
    return len(stale)
