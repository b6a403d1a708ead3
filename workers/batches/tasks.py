"""Celery tasks of the batch jobs: thin wrappers around :mod:`workers.batches.jobs`."""

from __future__ import annotations

import logging

from celery import shared_task, signals

from core.queue import SCORE_BATCH_TASK
from workers.batches import jobs as batches
from workers.batches import memory as batches_memory
from workers.celery_app import settings
from workers.runtime import runtime

log = logging.getLogger(__name__)


@shared_task(name=SCORE_BATCH_TASK, bind=True)
def score_batch(self, job_id: str) -> str:
    """Plan a batch job's parts and publish them."""
    try:
        return batches.run_batch(runtime(), job_id, owner=self.request.id)
    except Exception as exc:
        batches.fail_unexpectedly(runtime(), job_id, exc)
        raise


@shared_task(name=batches.SCORE_BATCH_PART_TASK, time_limit=settings.batch_time_limit)
def score_batch_part(job_id: str, index: int) -> str:
    """Score one part of a batch job; the last part merges them."""
    try:
        return batches.run_part(runtime(), job_id, index)
    except Exception as exc:
        batches.fail_unexpectedly(runtime(), job_id, exc)
        raise


@shared_task(name=batches.SWEEP_BATCH_FILES_TASK)
def sweep_batch_files() -> int:
    """Delete the files of expired batch jobs (beat runs this)."""
    return batches.sweep_files(runtime())


@signals.worker_process_init.connect
def keep_memory_flat(**_: object) -> None:
    """Allocator settings that keep a batch part's memory flat (see workers.batches.memory)."""
    batches_memory.tune()
