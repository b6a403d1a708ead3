"""Scoring one part of a batch job into its own file, exactly once.

A part task scores its range in chunks (:mod:`ml.batch.parts`) into its part
file in the store (which appears whole or not at all), then writes a small
summary beside it: a redelivered part whose summary is there does not score
again, and a killed one starts over, so each row is written exactly once.
Between chunks a part sees a cancelled job and stops, and a stopping worker,
and hands the part back (it starts again from scratch elsewhere; nothing of it
is left).
"""

from __future__ import annotations

import json
import time

from core.jobs import Job, JobStatus
from core.storage import layout, storage_of
from ml.batch.chunks import ChunkScorer
from ml.batch.parts import Part, PartSummary
from telemetry import metrics
from workers import lifecycle, shutdown
from workers.batches import formats as batch_formats
from workers.batches import memory as batches_memory
from workers.batches.state import BatchFailed, BatchState, Plan, Stop
from workers.runtime import Runtime


def part_done(rt: Runtime, job_id: str, index: int) -> bool:
    """Whether the part was scored (its summary, written after its file, is there)."""
    return storage_of(rt.settings).exists(layout.part_summary(job_id, index))


def scorer_for(rt: Runtime, job: Job, sample_every: int = 0) -> ChunkScorer:
    model = rt.model(lifecycle.version_of(job))
    columns = job.params["columns"]
    id_column = job.params.get("id_column")
    features = set(model.schema.feature_names)
    extras = [c for c in columns if c not in features and c != id_column]
    return ChunkScorer(model, id_column, extras, sample_every=sample_every)


def sample_every(rt: Runtime, rows: int) -> int:
    """Every how many rows one goes to the prediction log (0: none), for an even sample."""
    most = rt.settings.batch_log_rows
    return max(1, -(-rows // most)) if most and rows else 0


def score_part(rt: Runtime, job: Job, *, state: BatchState, plan: Plan, index: int) -> None:
    s = rt.settings
    start, end, lines_before = plan.parts[index]
    scorer = scorer_for(rt, job, sample_every(rt, plan.lines))
    version = scorer.model.version
    counted = {"rows": 0, "failed": 0}

    def on_chunk(summary: PartSummary) -> None:
        metrics.BATCH_ROWS.labels(version, "scored").inc(
            summary.rows - summary.failed - (counted["rows"] - counted["failed"])
        )
        metrics.BATCH_ROWS.labels(version, "failed").inc(summary.failed - counted["failed"])
        counted.update(rows=summary.rows, failed=summary.failed)
        batches_memory.trim()
        if state.progress(index, summary.rows, plan.lines) != JobStatus.RUNNING.value:
            raise Stop
        if shutdown.stopping():  # this worker is stopping: the part starts again elsewhere
            raise shutdown.HandBack
        if s.batch_fault_delay_seconds:  # fault injection: a window to kill or cancel in
            time.sleep(s.batch_fault_delay_seconds)

    store = storage_of(s)
    try:
        with store.writer(layout.part(job.id, index)) as sink:
            summary = batch_formats.score(
                scorer, s, job, Part(index, start, end, lines_before), sink=sink, on_chunk=on_chunk
            )
        meta = {
            "rows": summary.rows,
            "failed": summary.failed,
            "examples": summary.examples,
            "sample": scorer.sampled,  # rows for the prediction log (row, features, …)
        }
        store.write_bytes(
            layout.part_summary(job.id, index), json.dumps(meta, default=str).encode()
        )
    except FileNotFoundError as exc:  # the job's files were removed (cancelled)
        raise Stop from exc
    except batch_formats.unreadable_errors() as exc:
        raise BatchFailed({"type": type(exc).__name__, "detail": str(exc)}) from exc
