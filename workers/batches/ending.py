"""How a batch job ends badly: it fails (files first), or its files go when it is over."""

from __future__ import annotations

import logging
from typing import Any

from core import batch_files as files
from core.jobs import Job, JobStatus, Outcome
from workers import lifecycle
from workers.batches.state import BatchState
from workers.runtime import Runtime

log = logging.getLogger(__name__)


def fail(rt: Runtime, job: Job, error: dict[str, Any]) -> None:
    log.warning("batch job %s failed: %s", job.id, error["detail"])
    # files go first: finishing wakes the client, who must find nothing left behind
    files.remove_all(rt.settings, job.id)
    lifecycle.finish(rt, job, Outcome(job.id, JobStatus.FAILED, error=error))
    BatchState(rt, job.id).forget()


def fail_unexpectedly(rt: Runtime, job_id: str, exc: BaseException) -> None:
    """A bug or a resource problem: the job fails (never stays running forever)."""
    log.exception("batch job %s failed unexpectedly", job_id, exc_info=exc)
    job = rt.store.get_many([job_id])[0]
    if job is not None and not job.status.terminal:
        fail(rt, job, lifecycle.error_of(exc))


def drop_files_unless_succeeded(rt: Runtime, job_id: str) -> None:
    job = rt.store.get_many([job_id])[0]
    if job is None or job.status in (JobStatus.CANCELLED, JobStatus.FAILED):
        files.remove_all(rt.settings, job_id)
