"""Thin Celery tasks: parse arguments, call the code that does the work, log the outcome."""

from __future__ import annotations

import logging

from celery import shared_task

from core.queue import PREDICT_TASK, REQUEUE_STALE_TASK
from workers.predictions import scoring as prediction
from workers.runtime import runtime

log = logging.getLogger(__name__)


@shared_task(name=PREDICT_TASK, bind=True)
def predict(self, job_ids: list[str] | str) -> str:
    """Score prediction jobs (and queued neighbours) in one model call."""
    ids = [job_ids] if isinstance(job_ids, str) else list(job_ids)
    return prediction.run(runtime(), ids, owner=self.request.id)


@shared_task(name=REQUEUE_STALE_TASK)
def requeue_stale() -> int:
    """Re-publish prediction jobs left queued or claimed too long (a lost message or worker)."""
    from workers.celery_app import app
    from workers.predictions.stale import requeue_stale_jobs

    return requeue_stale_jobs(runtime(), app)
