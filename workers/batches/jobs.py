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

from celery import Celery

from core import batch_files as files
from core.jobs import ClaimOutcome, Job, JobStatus
from core.queue import BATCHES_QUEUE, SCORE_BATCH_PART_TASK
from telemetry import metrics
from workers import lifecycle
from workers.batches import formats as batch_formats
from workers.batches.ending import drop_files_unless_succeeded, fail
from workers.batches.merge import merge
from workers.batches.scoring import part_file, score_part
from workers.batches.state import BatchFailed, BatchState, Plan, Stop
from workers.runtime import Runtime

log = logging.getLogger(__name__)


def run_batch(rt: Runtime, app: Celery, job_id: str, owner: str) -> str:
    """Plan the job's parts and publish a task for each part not yet done."""
    job = lifecycle.claim(rt, job_id, owner)
    if job is ClaimOutcome.BUSY:
        return job.value
    if not isinstance(job, Job):
        drop_files_unless_succeeded(rt, job_id)
        return job.value
    state = BatchState(rt, job_id)
    try:
        plan = state.plan() or state.save_plan(_make_plan(rt, job))
    except BatchFailed as exc:
        fail(rt, job, exc.error)
        return "failed"
    files.parts_dir(rt.settings, job_id).mkdir(parents=True, exist_ok=True)
    state.progress(None, 0, plan.lines)
    done = state.done_parts()
    todo = [i for i in range(len(plan.parts)) if i not in done]
    for index in todo:
        app.send_task(SCORE_BATCH_PART_TASK, args=[job_id, index], queue=BATCHES_QUEUE)
    if not todo:  # every part was done before a redelivery: merge now
        merge(rt, job_id, plan)
    _sweep_now_and_then(rt)
    return f"published {len(todo)} of {len(plan.parts)} part(s), {plan.lines} line(s)"


def _make_plan(rt: Runtime, job: Job) -> Plan:
    path = batch_formats.upload_of(rt.settings, job)
    if not path.is_file():
        raise BatchFailed({"type": "UploadMissing", "detail": "the uploaded file is gone"})
    try:
        parts, lines = batch_formats.plan(rt.settings, job)
    except batch_formats.unreadable_errors() as exc:
        raise BatchFailed({"type": type(exc).__name__, "detail": str(exc)}) from exc
    if lines == 0:
        raise BatchFailed({"type": "EmptyFile", "detail": "the file has a header but no rows"})
    return Plan([(p.start, p.end, p.lines_before) for p in parts], lines)


def run_part(rt: Runtime, job_id: str, index: int) -> str:
    """Score one part of a batch job (once), and merge the parts if it was the last one."""

    job = rt.store.get_many([job_id])[0]
    if job is None or job.status is not JobStatus.RUNNING:
        drop_files_unless_succeeded(rt, job_id)
        return "not running"
    state = BatchState(rt, job_id)
    plan = state.plan()
    if plan is None:  # the plan expired with its job
        return "no plan"
    final = part_file(rt, job_id, index)
    if not final.exists():
        try:
            score_part(rt, job, state=state, plan=plan, index=index, final=final)
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
