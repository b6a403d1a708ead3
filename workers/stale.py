"""A safety net for at-least-once: re-publish prediction jobs nobody is working on.

A message can be lost outside Celery's guarantees (Redis failed between writing
the job record and publishing its task; a whole worker host vanished and the
broker's visibility timeout is hours long). Beat runs this every few seconds; a
re-published task of a job that has meanwhile finished is a no-op.
"""

from __future__ import annotations

import logging
import time

from core.jobs import JobStatus, JobType
from core.queue import PREDICT_TASK
from workers.runtime import Runtime

log = logging.getLogger(__name__)

QUEUED_GRACE_SECONDS = 60.0  # a prediction job queued this long has lost its message


def requeue_stale_jobs(rt: Runtime, *, scan: int = 2_000) -> int:
    from workers.celery_app import app

    now = time.time()
    lease = rt.settings.claim_lease_seconds
    limits = {JobStatus.QUEUED: QUEUED_GRACE_SECONDS, JobStatus.RUNNING: lease}
    stale = [
        job.id
        for job in rt.store.recent(limit=scan, job_type=JobType.PREDICTION, window=scan)
        if job.status in limits and now - (job.started_at or job.created_at) > limits[job.status]
    ]
    if stale:
        app.send_task(PREDICT_TASK, args=[stale])
        log.warning("re-published %d stale prediction job(s)", len(stale))
    return len(stale)
