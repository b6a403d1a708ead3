"""A job's life in a worker, the same for every job type: claim, run, finish, count.

Prediction, batch and report jobs all go through these few functions, so they
share one error shape, one in-progress gauge, one rule for counting a finished
job (only the call that finished it counts it) and one rule for the model
version (the web resolves an absent version to the default when it accepts the
job, so a worker always finds it on the job).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from billiard.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

from core.jobs import ClaimOutcome, Job, JobType, Outcome
from telemetry import metrics
from workers.runtime import Runtime

TIME_LIMIT_DETAIL = "the task ran past its time limit (LIFEBOAT_*_TIME_LIMIT settings)"
POISON = "poison"  # the error type of a job or part taken LIFEBOAT_MAX_ATTEMPTS times
# the last failure of an attempt that ended without a word: its pool process died
# (Celery redelivers the message), e.g. killed or out of memory
LOST = "its worker process was lost (killed, or out of memory)"


class MissingModelVersion(Exception):
    """A job without a model version: the web resolves one for every job it accepts."""


def error_of(exc: BaseException) -> dict[str, Any]:
    """What a failed job reports: the exception's type and message (one type for both
    time limits: the soft one raised in the task, the hard one after its process died)."""
    if isinstance(exc, SoftTimeLimitExceeded | TimeLimitExceeded):
        return {"type": "TimeLimitExceeded", "detail": TIME_LIMIT_DETAIL}
    return {"type": type(exc).__name__, "detail": str(exc) or type(exc).__name__}


def poison(what: str, attempts: int, last_error: str | None) -> dict[str, Any]:
    """The error of a job whose ``what`` (``job …`` or ``part 3 of batch job …``) was taken
    ``attempts`` times without finishing."""
    return {
        "type": POISON,
        "detail": f"{what} was attempted {attempts} times (LIFEBOAT_MAX_ATTEMPTS) without "
        f"finishing; last failure: {last_error or LOST}",
    }


def failure_text(exc: BaseException) -> str:
    """An attempt's failure as a part or job records it (for a later poison's detail)."""
    error = error_of(exc)
    return f"{error['type']}: {error['detail']}"


def version_of(job: Job) -> str:
    """The model version a job runs with (resolved by the web when it accepted the job)."""
    if not job.model_version:
        raise MissingModelVersion(f"job {job.id} names no model version")
    return job.model_version


def claim(rt: Runtime, job_id: str, owner: str) -> Job | ClaimOutcome:
    """Claim one job (a batch plan or a report, whose task renews the lease) for ``owner``:
    the job when this call may run it, else why not. ``POISON``: the caller fails it
    with :func:`poisoned`."""
    s = rt.settings
    outcome = rt.store.claim(job_id, owner, s.running_lease_seconds, s.max_attempts, rt.node)
    if outcome is not ClaimOutcome.CLAIMED:
        return outcome
    return rt.store.get(job_id)


def poisoned(rt: Runtime, job_id: str) -> tuple[Job, dict[str, Any]]:
    """A job the claim found poison, and the error it fails with."""
    job = rt.store.get(job_id)
    return job, poison(f"job {job_id}", job.attempts, job.last_error)


@contextmanager
def in_progress(kind: JobType, jobs: int = 1) -> Iterator[None]:
    """Count ``jobs`` of ``kind`` as running in this process while the block runs."""
    gauge = metrics.JOBS_IN_PROGRESS.labels(kind.value)
    gauge.inc(jobs)
    try:
        yield
    finally:
        gauge.dec(jobs)


def count_finished(job: Job, outcome: Outcome, now: float | None = None) -> None:
    """The metrics of a job this process finished (call once, after the store said so)."""
    kind = job.type.value
    metrics.JOBS_FINISHED.labels(kind, outcome.status.value).inc()
    turnaround = (time.time() if now is None else now) - job.created_at
    metrics.JOB_TURNAROUND.labels(kind).observe(max(0.0, turnaround))


def finish(rt: Runtime, job: Job, outcome: Outcome) -> bool:
    """Finish the job once and count it; False when it had finished already."""
    finished = rt.store_for(job.type).finish(outcome)
    if finished:
        count_finished(job, outcome)
    return finished
