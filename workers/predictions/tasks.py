"""Thin Celery tasks: parse arguments, call the code that does the work, log the outcome."""

from __future__ import annotations

from celery import shared_task

from core.queue import PREDICT_TASK, SHADOW_PREDICT_TASK
from workers.predictions import scoring, shadow
from workers.runtime import runtime


@shared_task(name=PREDICT_TASK, bind=True)
def predict(self, job_ids: list[str] | str) -> str:
    """Score prediction jobs (and queued neighbours) in one model call."""
    ids = [job_ids] if isinstance(job_ids, str) else list(job_ids)
    return scoring.run(runtime(), ids, owner=self.request.id)


@shared_task(name=SHADOW_PREDICT_TASK, bind=True)
def shadow_predict(self, version: str, payload: str) -> str:
    """A shadow version scores finished jobs' instances again and logs them as shadow."""
    return shadow.run(runtime(), version, payload, task_id=self.request.id)
