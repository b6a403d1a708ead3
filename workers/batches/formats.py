"""A batch job's file formats: where its upload is, how it splits into parts, how a part is read.

A job's ``format`` param (``csv`` when absent: jobs queued before Parquet) picks
:mod:`ml.batch.parts` (byte ranges of lines) or :mod:`ml.batch.parquet` (runs of
row groups). Both write a part as headerless CSV, so :mod:`workers.batches.jobs`
merges them the same way; the merged CSV is then also written as Parquet, for
``GET /jobs/{id}/result?format=parquet``. Files are read and written through
the store (:mod:`core.storage`): a CSV part is one ranged read of its bytes, a
Parquet file is read by ranges as its footer and row groups are needed.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any, BinaryIO

from core.jobs import Job
from core.settings import Settings
from core.storage import layout, storage_of
from workers.batches import memory as batches_memory

PARQUET = "parquet"


def file_format(job: Job) -> str:
    return str(job.params.get("format") or "csv")


def upload_of(job: Job) -> str:
    """The key of the job's upload."""
    return layout.upload(job.id, file_format(job))


def plan(settings: Settings, job: Job) -> tuple[list[Any], int]:
    """The job's parts (``ml.batch.parts.Part``) and its number of data lines or rows.

    ``FileNotFoundError`` when the upload is gone."""
    with storage_of(settings).open(upload_of(job)) as f:
        if file_format(job) == PARQUET:
            from ml.batch.parquet import plan_row_groups

            return plan_row_groups(f, settings.batch_part_bytes)
        from ml.batch.parts import plan_parts

        return plan_parts(f, int(job.params["data_start"]), settings.batch_part_bytes)


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
    store = storage_of(settings)
    key = upload_of(job)
    options = {
        "chunk_bytes": settings.batch_chunk_bytes,
        "max_decoded_bytes": max(settings.batch_part_decoded_bytes, settings.batch_part_bytes),
        "on_chunk": on_chunk,
    }
    if file_format(job) == PARQUET:
        from ml.batch.parquet import score_row_groups

        with store.open(key) as f:
            return score_row_groups(scorer, f, job.params["columns"], part, sink, **options)
    from ml.batch.parts import score_part

    def byte_range(start: int, end: int) -> BinaryIO:
        return store.open_range(key, start, end)

    return score_part(scorer, byte_range, job.params["columns"], part, sink, **options)


def unreadable_errors() -> tuple[type[Exception], ...]:
    """What the readers raise for a file they cannot read, or whose part decodes to more than
    a part's budget (the job fails, naming it)."""
    from ml.batch.budget import OverBudget
    from ml.batch.parquet import NotParquet
    from ml.batch.parts import NotCsv

    return (NotCsv, NotParquet, OverBudget)


def write_parquet_result(settings: Settings, job_id: str, schema: Any) -> int:
    """Write the merged CSV result as Parquet (streamed: a multipart upload on S3); returns
    its size in bytes.

    ``FileNotFoundError`` when the CSV result is gone (the job was cancelled).
    """
    from ml.batch.parquet import csv_to_parquet

    store = storage_of(settings)
    target = layout.result(job_id, PARQUET)
    with store.open_stream(layout.result(job_id)) as source, store.writer(target) as out:
        csv_to_parquet(source, schema, out, after_row_group=batches_memory.trim)
    return store.size(target)
