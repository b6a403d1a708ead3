"""Parquet for batch jobs: scoring an uploaded file by row groups, writing a scored CSV as Parquet.

An upload is split into parts of whole row groups (:func:`plan_row_groups`),
about ``part_bytes`` of uncompressed data each; a part is read a batch of rows
at a time (pages streamed, never a whole file), every column turned into text
(nulls into empty fields, as a CSV reads), scored by
:class:`ml.batch.chunks.ChunkScorer` and written as CSV without a header, like a CSV
part (:mod:`ml.batch.parts`), so the merge is the same for both formats. The
``row`` column is a row's number counted from 1. A row group is the unit of
splitting: a file written as one huge row group is scored by one part.

:func:`csv_to_parquet` turns a merged scored CSV into Parquet with the scored
file's types, streamed block by block.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from ml.batch import budget
from ml.batch.chunks import ChunkScorer
from ml.batch.formulas import restore_table
from ml.batch.parts import Part, PartSummary, opened, part_writer
from ml.errors import MLError

READ_BUFFER_BYTES = 1 << 20  # pages are read through a buffer this size, not a whole column
MAX_CHUNK_ROWS = 1 << 20  # rows scored at a time, whatever the row group's compression
# Arrow's streaming CSV reader holds ~50x its block size outside the memory pool (seen
# with pyarrow 2x: +185 MB of RSS at 4 MB blocks, +16 MB at 256 KB), so blocks are small
# and gathered into row groups of a useful size
CONVERT_BLOCK_BYTES = 256 << 10
CONVERT_ROW_GROUP_ROWS = 64 << 10  # rows of one Parquet row group of a scored file


class NotParquet(MLError):
    """The file cannot be read as Parquet (or one of its columns as text)."""


def _open(path: Path | str | BinaryIO, read_dictionary: Sequence[str] = ()) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(
            path, buffer_size=READ_BUFFER_BYTES, read_dictionary=list(read_dictionary) or None
        )
    except FileNotFoundError:
        raise
    except (pa.ArrowException, OSError) as exc:
        raise NotParquet(f"the file cannot be read as Parquet: {exc}") from exc


def plan_row_groups(path: Path | str | BinaryIO, part_bytes: int) -> tuple[list[Part], int]:
    """Split a file's row groups into parts of about ``part_bytes``; also count its rows.

    A part's ``start`` and ``end`` are row-group indices (``end`` excluded), its
    ``lines_before`` the rows before it.
    """
    meta = _open(path).metadata
    parts: list[Part] = []
    first = rows_before = size = rows = 0
    for i in range(meta.num_row_groups):
        group = meta.row_group(i)
        size += group.total_byte_size
        rows += group.num_rows
        if size >= part_bytes or i == meta.num_row_groups - 1:
            parts.append(Part(len(parts), first, i + 1, rows_before))
            first, rows_before, size, rows = i + 1, rows_before + rows, 0, 0
    return parts, meta.num_rows


def score_row_groups(
    scorer: ChunkScorer,
    path: Path | str | BinaryIO,
    columns: Sequence[str],
    part: Part,
    sink: io.RawIOBase | io.BufferedIOBase | BinaryIO,
    *,
    chunk_bytes: int,
    max_decoded_bytes: int,
    on_chunk: Callable[[PartSummary], None] | None = None,
) -> PartSummary:
    """Score the row groups of ``part`` and write them to ``sink`` (CSV without a header).

    About ``chunk_bytes`` of uncompressed data are scored at a time; ``on_chunk`` is
    called after each chunk is written (it may raise to stop). A part decoding to more
    than ``max_decoded_bytes`` raises :class:`~ml.batch.budget.OverBudget`: checked from
    the footer before any page is read, then batch by batch (:mod:`ml.batch.budget`).
    """
    summary = PartSummary()
    writer = part_writer(sink, scorer)
    try:
        meta = _open(path).metadata
        groups = list(range(part.start, part.end))
        budget.check_row_groups(meta, part.index, groups, columns, max_decoded_bytes)
        # text columns stay dictionaries until counted: a repeated value is not expanded yet
        parquet = _open(path, read_dictionary=_text_columns(meta.schema.to_arrow_schema(), columns))
        size = sum(meta.row_group(i).total_byte_size for i in groups)
        rows = sum(meta.row_group(i).num_rows for i in groups)
        batch_rows = max(1, min(MAX_CHUNK_ROWS, chunk_bytes * rows // max(1, size)))
        next_row = part.lines_before + 1
        decoded = budget.DecodedBytes(meta, part.index, groups, max_decoded_bytes)
        batches = parquet.iter_batches(
            batch_size=batch_rows, row_groups=groups, columns=list(columns), use_threads=False
        )
        for batch in _reading(batches):
            for piece in _pieces(batch, decoded.add(batch), chunk_bytes):
                numbers = np.arange(next_row, next_row + piece.num_rows, dtype=np.int64)
                next_row += piece.num_rows
                outcome = scorer.score(as_text(piece), numbers)
                writer.write_table(outcome.table)
                summary.add(outcome.rows, outcome.failed, outcome.examples)
                if on_chunk is not None:
                    on_chunk(summary)
    finally:
        writer.close()
    return summary


def _text_columns(schema: pa.Schema, columns: Sequence[str]) -> list[str]:
    wanted = set(columns)
    return [
        f.name
        for f in schema
        if f.name in wanted and (pa.types.is_string(f.type) or pa.types.is_binary(f.type))
    ]


def _pieces(batch: pa.RecordBatch, expanded: int, chunk_bytes: int) -> list[pa.RecordBatch]:
    """The batch in slices of about ``chunk_bytes`` once expanded (dictionaries decoded)."""
    if expanded <= chunk_bytes or batch.num_rows <= 1:
        return [batch]
    step = max(1, batch.num_rows * chunk_bytes // expanded)
    return [batch.slice(i, step) for i in range(0, batch.num_rows, step)]


def _reading(batches):  # type: ignore[no-untyped-def]
    """The batches, with a read error turned into ``NotParquet``."""
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except FileNotFoundError:
            raise
        except (pa.ArrowException, OSError) as exc:
            raise NotParquet(f"the file cannot be read as Parquet: {exc}") from exc
        yield batch


def as_text(batch: pa.RecordBatch) -> pa.Table:
    """Every column as text, nulls as empty fields: what the scorer reads from a CSV."""
    columns = []
    for name, values in zip(batch.schema.names, batch.columns, strict=True):
        column = values
        if column.type != pa.string():
            try:
                column = pc.cast(values, pa.string())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise NotParquet(
                    f"column {name!r} of type {column.type} cannot be read as text: {exc}"
                ) from exc
        columns.append(column.fill_null(""))
    return pa.Table.from_arrays(columns, names=batch.schema.names)


def csv_to_parquet(
    source: Path | str | BinaryIO,
    schema: pa.Schema,
    target: Path | str | BinaryIO,
    after_row_group: Callable[[], None] | None = None,
) -> None:
    """Write the scored CSV ``source`` (with its header) as Parquet with ``schema``'s types.

    An empty field is a null; a quoted empty string stays a string (the CSV writer
    quotes empty strings), and formula-like cells escaped in the CSV get their raw
    value back, so carried-through text survives unchanged. The header line is
    skipped (it is escaped too): columns are ``schema``'s, in order. Memory stays
    bounded by one row group; ``after_row_group`` runs after each one is written.
    """
    with opened(source) as raw:
        reader = pacsv.open_csv(
            raw,
            read_options=pacsv.ReadOptions(
                block_size=CONVERT_BLOCK_BYTES,
                use_threads=False,
                skip_rows=1,
                column_names=schema.names,
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={f.name: f.type for f in schema},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        with pq.ParquetWriter(target, schema) as writer:
            pending: list[pa.RecordBatch] = []
            rows = 0
            for batch in reader:
                table = restore_table(pa.Table.from_batches([batch.select(schema.names)]))
                pending.extend(table.cast(schema).to_batches())
                rows += batch.num_rows
                if rows >= CONVERT_ROW_GROUP_ROWS:
                    writer.write_table(pa.Table.from_batches(pending, schema))
                    pending, rows = [], 0
                    if after_row_group is not None:
                        after_row_group()
            if pending:
                writer.write_table(pa.Table.from_batches(pending, schema))
