"""A batch job's file formats: where its upload is, how it splits into parts, how a part is read.

A job's ``format`` param (``csv`` when absent: jobs queued before Parquet) picks
:mod:`ml.batch.parts` (byte ranges of lines) or :mod:`ml.batch.parquet` (runs of
row groups). Both write a part as headerless CSV, so :mod:`workers.batches.jobs`
merges them the same way; the merged CSV is then also written as Parquet, for
``GET /jobs/{id}/result?format=parquet``.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core import batch_files as files
from core.jobs import Job
from core.settings import Settings
from workers.batches import memory as batches_memory

PARQUET = "parquet"


def file_format(job: Job) -> str:
    return str(job.params.get("format") or "csv")


def upload_of(settings: Settings, job: Job) -> Path:
    return files.upload_path(settings, job.id, file_format(job))


def plan(settings: Settings, job: Job) -> tuple[list[Any], int]:
    """The job's parts (``ml.batch.parts.Part``) and its number of data lines or rows."""
    path = upload_of(settings, job)
    if file_format(job) == PARQUET:
        from ml.batch.parquet import plan_row_groups

        return plan_row_groups(path, settings.batch_part_bytes)
    from ml.batch.parts import plan_parts

    return plan_parts(path, int(job.params["data_start"]), settings.batch_part_bytes)


def score(
    scorer: Any,
    settings: Settings,
    job: Job,
    part: Any,
    *,
    sink: io.RawIOBase | io.BufferedIOBase,
    on_chunk: Callable[[Any], None],
) -> Any:
    """Score one part of the job's upload into ``sink``; returns its ``PartSummary``."""
    if file_format(job) == PARQUET:
        from ml.batch.parquet import score_row_groups as score_part
    else:
        from ml.batch.parts import score_part
    return score_part(
        scorer,
        upload_of(settings, job),
        job.params["columns"],
        part,
        sink,
        chunk_bytes=settings.batch_chunk_bytes,
        max_decoded_bytes=max(settings.batch_part_decoded_bytes, settings.batch_part_bytes),
        on_chunk=on_chunk,
    )


def unreadable_errors() -> tuple[type[Exception], ...]:
    """What the readers raise for a file they cannot read, or whose part decodes to more than
    a part's budget (the job fails, naming it)."""
    from ml.batch.budget import OverBudget
    from ml.batch.parquet import NotParquet
    from ml.batch.parts import NotCsv

    return (NotCsv, NotParquet, OverBudget)


def write_parquet_result(settings: Settings, job_id: str, schema: Any) -> int:
    """Write the merged CSV result as Parquet (temp + rename); returns its size in bytes.

    ``FileNotFoundError`` when the CSV result is gone (the job was cancelled).
    """
    from ml.batch.parquet import csv_to_parquet

    target = files.parquet_result_path(settings, job_id)
    tmp = files.temporary(target)
    try:
        csv_to_parquet(
            files.result_path(settings, job_id), schema, tmp, after_row_group=batches_memory.trim
        )
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return target.stat().st_size
