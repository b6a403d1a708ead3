"""Thin Celery tasks: parse arguments, call the code that does the work, log the outcome."""

from __future__ import annotations

from celery import shared_task

from core.queue import PREDICT_TASK, REQUEUE_STALE_TASK
from workers import beat
from workers.predictions import scoring
from workers.predictions.stale import requeue_stale_jobs
from workers.runtime import runtime


@shared_task(name=PREDICT_TASK, bind=True)
def predict(self, job_ids: list[str] | str) -> str:
    """Score prediction jobs (and queued neighbours) in one model call."""
    ids = [job_ids] if isinstance(job_ids, str) else list(job_ids)
    return scoring.run(runtime(), ids, owner=self.request.id)


@shared_task(name=REQUEUE_STALE_TASK, bind=True)
def requeue_stale(self) -> int:
    """Re-publish prediction jobs left queued or claimed too long (a lost message or worker)."""
    rt = runtime()
    requeued = requeue_stale_jobs(rt, self.app)
    beat.ran(rt.settings, REQUEUE_STALE_TASK)
    return requeued
