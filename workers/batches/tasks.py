"""Celery tasks of the batch jobs: thin wrappers around :mod:`workers.batches.jobs`.

Every worker process imports the task modules at start; the batch code (and
pyarrow with it) is imported on a process's first batch task, so a process that
only scores predictions never loads it.
"""

from __future__ import annotations

from celery import shared_task, signals
from celery.exceptions import Reject

from core.queue import SCORE_BATCH_PART_TASK, SCORE_BATCH_TASK, SWEEP_BATCH_FILES_TASK
from workers import beat
from workers.batches import memory as batches_memory
from workers.runtime import runtime
from workers.shutdown import HandBack


@shared_task(name=SCORE_BATCH_TASK, bind=True)
def score_batch(self, job_id: str) -> str:
    """Plan a batch job's parts and publish them."""
    from workers.batches import ending, jobs

    try:
        return jobs.run_batch(runtime(), self.app, job_id, owner=self.request.id)
    except Exception as exc:
        ending.fail_unexpectedly(runtime(), job_id, exc)
        raise


@shared_task(name=SCORE_BATCH_PART_TASK, bind=True)
def score_batch_part(self, job_id: str, index: int) -> str:
    """Score one part of a batch job; the last part merges them.

    Past the soft time limit (``SoftTimeLimitExceeded``) the job fails like on any
    error; when the worker stops, the part's message goes back to the queue. (A part
    killed at its hard time limit is retried: see ``workers.timeouts``.)
    """
    from workers.batches import ending, jobs

    try:
        return jobs.run_part(runtime(), job_id, index, owner=self.request.id)
    except HandBack as exc:
        raise Reject(f"worker stopping: part {index} of {job_id} re-queued", requeue=True) from exc
    except Exception as exc:
        ending.fail_unexpectedly(runtime(), job_id, exc)
        raise


@shared_task(name=SWEEP_BATCH_FILES_TASK)
def sweep_batch_files() -> int:
    """Delete the files of expired batch jobs (beat runs this)."""
    from workers.batches import jobs

    removed = jobs.sweep_files(runtime())
    beat.ran(runtime().settings, SWEEP_BATCH_FILES_TASK)
    return removed


@signals.worker_process_init.connect
def keep_memory_flat(**_: object) -> None:
    """Allocator settings that keep a batch part's memory flat (see workers.batches.memory)."""
    batches_memory.tune()
