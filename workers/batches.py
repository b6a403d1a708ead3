"""Scoring a batch job: split the upload into parts, score them anywhere, merge them in order.

The batch task claims the job, cuts the upload into byte ranges on line
boundaries (the plan, written once to Redis so a redelivered task finds the same
one), sets the job's total to the file's line count and publishes one part task
per range on the ``batches`` queue, so every free worker process takes some.

A part task scores its range in chunks (:mod:`ml.batch_io`) into a temporary
file, then renames it into place with a small summary beside it: a redelivered
part whose file is there does not score again, and a killed one starts over
from a fresh temporary file, so each row is written exactly once. Progress is
the sum of the rows each part has written (per part, so a restarted part never
counts twice); between chunks a part sees a cancelled job and stops, removing
the job's files. The part that completes the set merges the parts in input
order into the result (again temp + rename) and finishes the job; the job
store lets it finish only once.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core import batch_files as files
from core import prediction_log
from core.jobs import ClaimOutcome, Job, JobStatus, JobType, Outcome
from core.queue import BATCHES_QUEUE
from workers import batch_formats, batches_memory
from workers.runtime import Runtime

log = logging.getLogger(__name__)

SCORE_BATCH_PART_TASK = "lifeboat.score_batch_part"
SWEEP_BATCH_FILES_TASK = "lifeboat.sweep_batch_files"
COPY_BYTES = 8 << 20  # bytes copied at a time when merging parts

# KEYS[1] job, KEYS[2] rows per part; ARGV: part ("" to set only the total), rows, total, ttl.
# Progress moves only while the job runs; returns the job's status.
_PROGRESS = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'running' then return status or 'missing' end
if ARGV[1] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
local done = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do done = done + tonumber(v) end
local total = tonumber(ARGV[3])
if total < done then total = done end
redis.call('HSET', KEYS[1], 'progress_done', done, 'progress_total', total)
return status
"""

# KEYS[1] set of finished parts; ARGV: part, number of parts, ttl.  1 when every part is done.
_PART_DONE = """
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 1 end
return 0
"""


class Stop(Exception):
    """The job is no longer running (cancelled, or finished elsewhere): stop this part."""


class BatchFailed(Exception):
    """The batch cannot succeed; ``error`` is what the job reports."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["detail"])
        self.error = error


@dataclass(frozen=True)
class Plan:
    parts: list[tuple[int, int, int]]  # (start, end, lines before) per part
    lines: int

    def to_json(self) -> str:
        return json.dumps({"parts": self.parts, "lines": self.lines})

    @classmethod
    def from_json(cls, raw: bytes | str) -> Plan:
        data = json.loads(raw)
        return cls([tuple(p) for p in data["parts"]], int(data["lines"]))


class BatchState:
    """A batch job's bookkeeping in Redis, beside its job record (same TTL)."""

    def __init__(self, rt: Runtime, job_id: str) -> None:
        self.rt = rt
        self.job_id = job_id
        self.plan_key = rt.keys.batch_plan(job_id)
        self.rows_key = rt.keys.batch_rows(job_id)
        self.done_key = rt.keys.batch_done(job_id)
        self.ttl = rt.settings.job_ttl_seconds

    def plan(self) -> Plan | None:
        raw = self.rt.redis.get(self.plan_key)
        return Plan.from_json(raw) if raw else None

    def save_plan(self, plan: Plan) -> Plan:
        """Store the plan unless one exists; returns the one stored."""
        self.rt.redis.set(self.plan_key, plan.to_json(), nx=True, ex=self.ttl)
        stored = self.plan()
        assert stored is not None
        return stored

    def progress(self, part: int | None, rows: int, total: int) -> str:
        script = self.rt.redis.register_script(_PROGRESS)
        got = script(
            keys=[self.rt.store.key(self.job_id), self.rows_key],
            args=["" if part is None else part, rows, total, self.ttl],
        )
        return got.decode() if isinstance(got, bytes) else str(got)

    def part_done(self, part: int, n_parts: int) -> bool:
        script = self.rt.redis.register_script(_PART_DONE)
        return bool(script(keys=[self.done_key], args=[part, n_parts, self.ttl]))

    def done_parts(self) -> set[int]:
        return {int(m) for m in self.rt.redis.smembers(self.done_key)}

    def forget(self) -> None:
        self.rt.redis.delete(self.plan_key, self.rows_key, self.done_key)


# --- the batch task ------------------------------------------------------------------------
def run_batch(rt: Runtime, job_id: str, owner: str) -> str:
    """Plan the job's parts and publish a task for each part not yet done."""
    from workers.celery_app import app

    s = rt.settings
    claim = rt.store.claim(job_id, owner, s.claim_lease_seconds)
    if claim is ClaimOutcome.BUSY:
        return claim.value
    if claim is not ClaimOutcome.CLAIMED:
        _drop_files_unless_succeeded(rt, job_id)
        return claim.value
    job = rt.store.get(job_id)
    state = BatchState(rt, job_id)
    try:
        plan = state.plan() or state.save_plan(_make_plan(rt, job))
    except BatchFailed as exc:
        _fail(rt, job, exc.error)
        return "failed"
    files.parts_dir(s, job_id).mkdir(parents=True, exist_ok=True)
    state.progress(None, 0, plan.lines)
    done = state.done_parts()
    todo = [i for i in range(len(plan.parts)) if i not in done]
    for index in todo:
        app.send_task(SCORE_BATCH_PART_TASK, args=[job_id, index], queue=BATCHES_QUEUE)
    if not todo:  # every part was done before a redelivery: merge now
        _merge(rt, job_id, plan)
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


# --- a part task ---------------------------------------------------------------------------
def run_part(rt: Runtime, job_id: str, index: int) -> str:
    """Score one part of a batch job (once), and merge the parts if it was the last one."""
    from monitoring.metrics import BATCH_PARTS

    job = rt.store.get_many([job_id])[0]
    if job is None or job.status is not JobStatus.RUNNING:
        _drop_files_unless_succeeded(rt, job_id)
        return "not running"
    state = BatchState(rt, job_id)
    plan = state.plan()
    if plan is None:  # the plan expired with its job
        return "no plan"
    final = _part_file(rt, job_id, index)
    if not final.exists():
        try:
            _score_part(rt, job, state=state, plan=plan, index=index, final=final)
        except Stop:
            BATCH_PARTS.labels("stopped").inc()
            _drop_files_unless_succeeded(rt, job_id)
            return "stopped"
        except BatchFailed as exc:
            BATCH_PARTS.labels("failed").inc()
            _fail(rt, job, exc.error)
            return "failed"
        BATCH_PARTS.labels("scored").inc()
    if state.part_done(index, len(plan.parts)):
        _merge(rt, job_id, plan)
        return f"part {index} scored; merged"
    return f"part {index} scored"


def _part_file(rt: Runtime, job_id: str, index: int) -> Path:
    return files.parts_dir(rt.settings, job_id) / f"part-{index:05d}.csv"


def _scorer(rt: Runtime, job: Job, sample_every: int = 0) -> Any:
    from ml.batch import ChunkScorer

    model = rt.model(job.model_version or rt.registry.default_version())
    columns = job.params["columns"]
    id_column = job.params.get("id_column")
    features = set(model.schema.feature_names)
    extras = [c for c in columns if c not in features and c != id_column]
    return ChunkScorer(model, id_column, extras, sample_every=sample_every)


def _sample_every(rt: Runtime, rows: int) -> int:
    """Every how many rows one goes to the prediction log (0: none), for an even sample."""
    most = rt.settings.batch_log_rows
    return max(1, -(-rows // most)) if most and rows else 0


def _score_part(
    rt: Runtime, job: Job, *, state: BatchState, plan: Plan, index: int, final: Path
) -> None:
    from ml.batch_io import Part, PartSummary
    from monitoring.metrics import BATCH_ROWS

    s = rt.settings
    start, end, lines_before = plan.parts[index]
    scorer = _scorer(rt, job, _sample_every(rt, plan.lines))
    version = scorer.model.version
    counted = {"rows": 0, "failed": 0}

    def on_chunk(summary: PartSummary) -> None:
        BATCH_ROWS.labels(version, "scored").inc(
            summary.rows - summary.failed - (counted["rows"] - counted["failed"])
        )
        BATCH_ROWS.labels(version, "failed").inc(summary.failed - counted["failed"])
        counted.update(rows=summary.rows, failed=summary.failed)
        batches_memory.trim()
        if state.progress(index, summary.rows, plan.lines) != JobStatus.RUNNING.value:
            raise Stop
        if s.batch_fault_delay_seconds:  # fault injection: a window to kill or cancel in
            time.sleep(s.batch_fault_delay_seconds)

    tmp = files.temporary(final)
    try:
        with open(tmp, "wb") as sink:  # FileNotFoundError: the job's files were removed
            summary = batch_formats.score(
                scorer, s, job, Part(index, start, end, lines_before), sink=sink, on_chunk=on_chunk
            )
        meta = {
            "rows": summary.rows,
            "failed": summary.failed,
            "examples": summary.examples,
            "sample": scorer.sampled,  # rows for the prediction log (row, features, …)
        }
        _write_json(final.with_suffix(".json"), meta)
        os.replace(tmp, final)
    except FileNotFoundError as exc:
        raise Stop from exc
    except batch_formats.unreadable_errors() as exc:
        raise BatchFailed({"type": type(exc).__name__, "detail": str(exc)}) from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = files.temporary(path)
    tmp.write_text(json.dumps(data, default=str))
    os.replace(tmp, path)


# --- merging and finishing -----------------------------------------------------------------
def _merge(rt: Runtime, job_id: str, plan: Plan) -> None:
    """Concatenate the parts in input order into the result and finish the job."""
    s = rt.settings
    job = rt.store.get_many([job_id])[0]
    if job is None or job.status is not JobStatus.RUNNING:
        return
    try:
        scorer = _scorer(rt, job)
        metas = [
            json.loads(_part_file(rt, job_id, i).with_suffix(".json").read_text())
            for i in range(len(plan.parts))
        ]
    except FileNotFoundError:  # cancelled meanwhile: its files are gone
        _drop_files_unless_succeeded(rt, job_id)
        return
    rows = sum(m["rows"] for m in metas)
    failed = sum(m["failed"] for m in metas)
    examples = [e for m in metas for e in m["examples"]][:5]
    if failed == rows:
        _fail(rt, job, _all_bad(rows, examples))
        return
    result = files.result_path(s, job_id)
    tmp = files.temporary(result)
    try:
        with open(tmp, "wb") as out:
            header = io.StringIO()
            csv.writer(header, lineterminator="\n").writerow(scorer.columns)
            out.write(header.getvalue().encode())
            out.flush()  # the parts are copied by file descriptor, past Python's buffer
            for i in range(len(plan.parts)):
                with open(_part_file(rt, job_id, i), "rb") as part:
                    _copy(part, out)
        os.replace(tmp, result)
        parquet_bytes = batch_formats.write_parquet_result(s, job_id, scorer.schema)
    except FileNotFoundError:
        _drop_files_unless_succeeded(rt, job_id)
        return
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    BatchState(rt, job_id).progress(None, 0, rows)
    outcome = Outcome(
        job_id,
        JobStatus.SUCCEEDED,
        # the sampled rows reach the prediction log with the finish: once, whatever retried;
        # their prediction ids are ``<job id>-<row>``
        log_records=prediction_log.records_of_rows(
            job_id,
            scorer.model.version,
            [row for m in metas for row in m.get("sample", [])],
            source=prediction_log.SOURCE_BATCH,
        ),
        result={
            "rows": rows,
            "failed_rows": failed,
            "columns": scorer.columns,
            "bytes": result.stat().st_size,
            "parquet_bytes": parquet_bytes,
            "errors": [{"row": k, "msg": e} for k, e in examples],
            "links": {
                "result": f"/api/v1/jobs/{job_id}/result",
                "result_parquet": f"/api/v1/jobs/{job_id}/result?format=parquet",
            },
        },
    )
    if _finish(rt, job, outcome):
        files.remove_partial(s, job_id)
        BatchState(rt, job_id).forget()
    else:  # cancelled while merging, or merged twice (a redelivered last part)
        _drop_files_unless_succeeded(rt, job_id)


def _copy(src: Any, dst: Any) -> None:
    try:
        while os.copy_file_range(src.fileno(), dst.fileno(), COPY_BYTES):
            pass
    except OSError:  # not supported here: copy the rest through user space
        while chunk := src.read(COPY_BYTES):
            dst.write(chunk)
        dst.flush()


def _all_bad(rows: int, examples: list[Any]) -> dict[str, Any]:
    detail = f"every row of the file failed validation ({rows} row(s))"
    if examples:
        key, msg = examples[0]
        detail += f"; e.g. {key}: {msg}"
    return {
        "type": "NoValidRows",
        "detail": detail,
        "errors": [{"row": k, "msg": e} for k, e in examples],
    }


def _fail(rt: Runtime, job: Job, error: dict[str, Any]) -> None:
    log.warning("batch job %s failed: %s", job.id, error["detail"])
    # files go first: finishing wakes the client, who must find nothing left behind
    files.remove_all(rt.settings, job.id)
    _finish(rt, job, Outcome(job.id, JobStatus.FAILED, error=error))
    BatchState(rt, job.id).forget()


def _finish(rt: Runtime, job: Job, outcome: Outcome) -> bool:
    from monitoring.metrics import JOB_TURNAROUND, JOBS_FINISHED

    finished = rt.store.finish(outcome)
    if finished:
        kind = JobType.BATCH.value
        JOBS_FINISHED.labels(kind, outcome.status.value).inc()
        JOB_TURNAROUND.labels(kind).observe(max(0.0, time.time() - job.created_at))
    return finished


def fail_unexpectedly(rt: Runtime, job_id: str, exc: BaseException) -> None:
    """A bug or a resource problem: the job fails (never stays running forever)."""
    log.exception("batch job %s failed unexpectedly", job_id, exc_info=exc)
    job = rt.store.get_many([job_id])[0]
    if job is not None and not job.status.terminal:
        _fail(rt, job, {"type": type(exc).__name__, "detail": str(exc) or type(exc).__name__})


def _drop_files_unless_succeeded(rt: Runtime, job_id: str) -> None:
    job = rt.store.get_many([job_id])[0]
    if job is None or job.status in (JobStatus.CANCELLED, JobStatus.FAILED):
        files.remove_all(rt.settings, job_id)


# --- expired files -------------------------------------------------------------------------
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
