"""Scoring one part of a batch job into its own file, exactly once.

A part task scores its range in chunks (:mod:`ml.batch.parts`) into a temporary
file, then renames it into place with a small summary beside it: a redelivered
part whose file is there does not score again, and a killed one starts over
from a fresh temporary file, so each row is written exactly once. Between
chunks a part sees a cancelled job and stops, and a stopping worker, and hands
the part back (it starts again from scratch elsewhere; its temporary file goes).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from core import batch_files as files
from core.jobs import Job, JobStatus
from ml.batch.chunks import ChunkScorer
from ml.batch.parts import Part, PartSummary
from telemetry import metrics
from workers import lifecycle, shutdown
from workers.batches import formats as batch_formats
from workers.batches import memory as batches_memory
from workers.batches.state import BatchFailed, BatchState, Plan, Stop
from workers.runtime import Runtime


def part_file(rt: Runtime, job_id: str, index: int) -> Path:
    return files.parts_dir(rt.settings, job_id) / f"part-{index:05d}.csv"


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


def score_part(
    rt: Runtime, job: Job, *, state: BatchState, plan: Plan, index: int, final: Path
) -> None:
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
