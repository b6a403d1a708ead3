"""Batch jobs: split the upload into parts, score them anywhere, merge them in order.

The batch task claims the job, cuts the upload into parts (byte ranges on line
boundaries, or runs of Parquet row groups; the plan is written once to Redis,
see :mod:`workers.batches.state`), sets the job's total to the file's row count
and publishes one part task per part on the ``batches`` queue, so every free
worker process takes some. A part task scores its part once
(:mod:`workers.batches.scoring`); the part that completes the set merges them
(:mod:`workers.batches.merge`). Beat sweeps the files of expired jobs.
"""

from __future__ import annotations

import logging
import signal
import time

from celery import Celery

from core import batch_files as files
from core.jobs import ClaimOutcome, Job, JobStatus, JobType, Release
from core.queue import BATCHES_QUEUE, SCORE_BATCH_PART_TASK
from telemetry import metrics
from workers import lifecycle
from workers.batches import formats as batch_formats
from workers.batches.ending import drop_files_unless_succeeded, fail
from workers.batches.merge import merge
from workers.batches.scoring import part_done, score_part
from workers.batches.state import BatchFailed, BatchState, Plan, Stop
from workers.leases import heartbeat
from workers.runtime import Runtime
from workers.shutdown import HandBack

log = logging.getLogger(__name__)

SOFT_LIMIT_SIGNAL = signal.SIGUSR1  # what billiard sends a pool process at the soft time limit


def run_batch(rt: Runtime, app: Celery, job_id: str, owner: str) -> str:
    """Plan the job's parts and publish a task for each part not yet done.

    The job's lease is renewed while it plans; publishing the parts hands it to them
    (each part has its own lease from then on).
    """
    job = lifecycle.claim(rt, job_id, owner)
    if job is ClaimOutcome.BUSY:
        return job.value
    if job is ClaimOutcome.POISON:
        poisoned, error = lifecycle.poisoned(rt, job_id)
        fail(rt, poisoned, error)
        return job.value
    if not isinstance(job, Job):
        drop_files_unless_succeeded(rt, job_id)
        return job.value
    with heartbeat.held(rt, job_id, owner):
        state = BatchState(rt, job_id)
        try:
            plan = state.plan() or state.save_plan(_make_plan(rt, job))
        except BatchFailed as exc:
            fail(rt, job, exc.error)
            return "failed"
        state.progress(None, 0, plan.lines)
        done = state.done_parts()
        todo = [i for i in range(len(plan.parts)) if i not in done]
        if not todo:  # every part was done before a redelivery: merge now, under the job's lease
            merge(rt, job_id, plan)
            return f"merged {len(plan.parts)} part(s), {plan.lines} line(s)"
    rt.store.hand_to_parts(job_id, todo)
    for index in todo:
        app.send_task(SCORE_BATCH_PART_TASK, args=[job_id, index], queue=BATCHES_QUEUE)
    _sweep_now_and_then(rt)
    return f"published {len(todo)} of {len(plan.parts)} part(s), {plan.lines} line(s)"


def _make_plan(rt: Runtime, job: Job) -> Plan:
    try:
        parts, lines = batch_formats.plan(rt.settings, job)
    except FileNotFoundError as exc:
        detail = "the uploaded file is gone"
        raise BatchFailed({"type": "UploadMissing", "detail": detail}) from exc
    except batch_formats.unreadable_errors() as exc:
        raise BatchFailed({"type": type(exc).__name__, "detail": str(exc)}) from exc
    if lines == 0:
        raise BatchFailed({"type": "EmptyFile", "detail": "the file has a header but no rows"})
    return Plan([(p.start, p.end, p.lines_before) for p in parts], lines)


def run_part(rt: Runtime, job_id: str, index: int, owner: str) -> str:
    """Score one part of a batch job (once), and merge the parts if it was the last one.

    The part is claimed first (an attempt counted, its lease renewed while it runs): a
    part another live task holds is left to it, and one taken ``LIFEBOAT_MAX_ATTEMPTS``
    times fails the job as ``poison``. Raises :class:`HandBack` when the worker stops.
    """
    job = rt.store.get_many([job_id])[0]
    if job is None or job.status is not JobStatus.RUNNING:
        drop_files_unless_succeeded(rt, job_id)
        return "not running"
    s = rt.settings
    claim = rt.store.claim_part(
        job_id,
        index,
        owner,
        lease=s.running_lease_seconds,
        max_attempts=s.max_attempts,
        ttl=s.job_ttl(JobType.BATCH),
        node=rt.node,
    )
    if claim.outcome == "stopped":
        drop_files_unless_succeeded(rt, job_id)
        return "not running"
    if claim.outcome == "busy":
        return f"part {index} is held by another task"
    if claim.outcome == "poison":
        what = f"part {index} of batch job {job_id}"
        fail(rt, job, lifecycle.poison(what, claim.attempts, claim.last_error))
        return "poison"
    how = Release.DONE
    try:
        with heartbeat.held(rt, job_id, owner, index):
            return _score_and_merge(rt, job, index)
    except HandBack:
        how = Release.HANDBACK
        raise
    finally:
        rt.store.release_part(job_id, index, owner, how)


def _score_and_merge(rt: Runtime, job: Job, index: int) -> str:
    job_id = job.id
    state = BatchState(rt, job_id)
    plan = state.plan()
    if plan is None:  # the plan expired with its job
        return "no plan"
    stall(rt.settings.batch_fault_stall_seconds)
    if not part_done(rt, job_id, index):
        try:
            score_part(rt, job, state=state, plan=plan, index=index)
        except Stop:
            metrics.BATCH_PARTS.labels("stopped").inc()
            drop_files_unless_succeeded(rt, job_id)
            return "stopped"
        except BatchFailed as exc:
            metrics.BATCH_PARTS.labels("failed").inc()
            fail(rt, job, exc.error)
            return "failed"
        metrics.BATCH_PARTS.labels("scored").inc()
    if state.part_done(index, len(plan.parts)):
        merge(rt, job_id, plan)
        return f"part {index} scored; merged"
    return f"part {index} scored"


def stall(seconds: float) -> None:
    """Fault injection: block for ``seconds``, deaf to the soft time limit (its signal is
    held, as it is while C code runs), so that only the hard limit ends the task."""
    if not seconds:
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {SOFT_LIMIT_SIGNAL})
    try:
        time.sleep(seconds)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {SOFT_LIMIT_SIGNAL})


def sweep_files(rt: Runtime) -> int:
    """Delete the files of batch jobs that have expired."""

    def exists(job_id: str) -> bool:
        return bool(rt.redis.exists(rt.store.key(job_id)))

    removed = files.sweep(rt.settings, exists)
    if removed:
        log.info("removed %d file(s) of expired batch jobs", removed)
    return removed


def _sweep_now_and_then(rt: Runtime) -> None:
    key = rt.keys.batch_sweep
    if rt.redis.set(key, "1", nx=True, ex=max(1, int(rt.settings.batch_sweep_seconds))):
        sweep_files(rt)
