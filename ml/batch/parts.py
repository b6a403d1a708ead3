"""Streaming an uploaded CSV through :class:`ml.batch.chunks.ChunkScorer`, one byte range at a time.

An upload is split into parts at line boundaries (:func:`plan_parts`); a part is
read with pyarrow's streaming CSV reader in chunks of about ``chunk_bytes``,
every column as text, scored, and written to a CSV of its own (no header), so
memory stays flat whatever the file's size. Rows are lines: a quoted field may
hold commas and quotes but not a line break. A line that cannot be parsed
(wrong number of fields) still gets an output row, in its place, with an error;
an empty line is skipped. The ``row`` column is a line's number counted from 1
at the first line after the header.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import os
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ml.batch import budget
from ml.batch.chunks import MAX_ERROR_EXAMPLES, ChunkScorer
from ml.batch.formulas import FormulaSafeWriter
from ml.batch.ranges import RangeFile
from ml.errors import MLError

SCAN_BYTES = 4 << 20  # bytes read at a time when counting lines
# a file: its path, or (stored elsewhere) a function opening its bytes [start, end)
RangeSource = Path | str | Callable[[int, int], BinaryIO]


class NotCsv(MLError):
    """The file cannot be read as CSV."""


@dataclass(frozen=True)
class Part:
    """A byte range of the upload holding whole lines, and the lines before it."""

    index: int
    start: int
    end: int
    lines_before: int  # data lines (after the header) before ``start``


@dataclass
class PartSummary:
    """What scoring one part produced."""

    rows: int = 0
    failed: int = 0
    examples: list[tuple[object, str]] = field(default_factory=list)

    def add(self, rows: int, failed: int, examples: list[tuple[object, str]]) -> None:
        """Count a scored chunk; its bad rows are quoted up to ``MAX_ERROR_EXAMPLES``."""
        self.rows += rows
        self.failed += failed
        self.examples.extend(examples[: max(0, MAX_ERROR_EXAMPLES - len(self.examples))])


def part_writer(
    sink: io.RawIOBase | io.BufferedIOBase | BinaryIO, scorer: ChunkScorer
) -> FormulaSafeWriter:
    """The writer of a scored part: CSV without a header, in the scored file's columns.

    Text cells a spreadsheet would run as formulas are escaped (:mod:`ml.batch.formulas`).
    """
    return FormulaSafeWriter(
        pacsv.CSVWriter(
            sink,
            scorer.schema,
            write_options=pacsv.WriteOptions(include_header=False, quoting_style="needed"),
        ),
        names=[scorer.columns[0], *scorer.extra_columns],  # the upload's own values
    )


@contextlib.contextmanager
def opened(source: Path | str | BinaryIO) -> Iterator[BinaryIO]:
    """A file by its path (opened and closed here), or an open binary file (left open)."""
    if isinstance(source, str | Path):
        with open(source, "rb") as f:
            yield f
    else:
        yield source


def open_range(source: RangeSource, start: int, end: int) -> BinaryIO:
    """Bytes ``[start, end)`` of ``source`` as a readable stream."""
    if isinstance(source, str | Path):
        f = open(source, "rb")  # noqa: SIM115 — closed with the range
        f.seek(start)
        return RangeFile(f, end - start)  # type: ignore[return-value]
    return source(start, end)


def plan_parts(
    source: Path | str | BinaryIO, data_start: int, part_bytes: int
) -> tuple[list[Part], int]:
    """Split the data lines of a file (a path or a seekable binary file) into parts of about
    ``part_bytes``; also count its lines."""
    bounds = [data_start]
    with opened(source) as f:
        size = f.seek(0, os.SEEK_END)
        target = data_start + part_bytes
        while target < size:
            f.seek(target)
            f.readline()  # to the end of the line the target falls in
            cut = f.tell()
            if cut >= size:
                break
            if cut > bounds[-1]:
                bounds.append(cut)
            target = cut + part_bytes
        bounds.append(size)
        parts: list[Part] = []
        lines = 0
        for index, (start, end) in enumerate(itertools.pairwise(bounds)):
            parts.append(Part(index, start, end, lines))
            lines += _count_lines(f, start, end)
    return parts, lines


def _count_lines(f: BinaryIO, start: int, end: int) -> int:
    f.seek(start)
    left = end - start
    count = 0
    last = b"\n"
    while left > 0:
        chunk = f.read(min(SCAN_BYTES, left))
        if not chunk:
            break
        count += chunk.count(b"\n")
        last = chunk[-1:]
        left -= len(chunk)
    return count + (last != b"\n")  # a last line without its line break


class _Lines:
    """Gives each parsed row its line number, knowing which lines the parser skipped."""

    def __init__(self) -> None:
        self.skipped: deque[tuple[int, str, int]] = deque()  # (line, text, fields found)
        self.next_line = 1

    def handler(self, row: pacsv.InvalidRow) -> str:
        if row.number is None:  # only a multi-threaded reader leaves it out
            raise NotCsv("line numbers unavailable")
        self.skipped.append((row.number, row.text, row.actual_columns))
        return "skip"

    def assign(self, n: int) -> tuple[np.ndarray, list[tuple[int, int, str, int]]]:
        """Line numbers of the next ``n`` parsed rows, and the unreadable lines among them.

        Unreadable lines come as (position among the ``n`` rows, line, text, fields found).
        """
        lines = np.empty(n, dtype=np.int64)
        unreadable: list[tuple[int, int, str, int]] = []
        k = 0
        while k < n:
            if self.skipped and self.skipped[0][0] == self.next_line:
                line, text, found = self.skipped.popleft()
                if text.strip():
                    unreadable.append((k, line, text, found))
                self.next_line += 1
                continue
            run = n - k
            if self.skipped:
                run = min(run, self.skipped[0][0] - self.next_line)
            lines[k : k + run] = np.arange(self.next_line, self.next_line + run)
            k += run
            self.next_line += run
        return lines, unreadable

    def rest(self) -> list[tuple[int, int, str, int]]:
        """Unreadable lines after the last parsed row."""
        out = [(0, line, text, found) for line, text, found in self.skipped if text.strip()]
        self.skipped.clear()
        return out


def score_part(
    scorer: ChunkScorer,
    path: RangeSource,
    columns: Sequence[str],
    part: Part,
    sink: io.RawIOBase | io.BufferedIOBase | BinaryIO,
    *,
    chunk_bytes: int,
    max_decoded_bytes: int,
    on_chunk: Callable[[PartSummary], None] | None = None,
) -> PartSummary:
    """Score the lines of ``part`` and write them, scored, to ``sink`` (CSV without a header).

    ``path`` is the file's path, or a function opening a byte range of it.

    ``on_chunk`` is called after each chunk is written (it may raise to stop). A part
    longer than ``max_decoded_bytes`` raises :class:`~ml.batch.budget.OverBudget`
    before anything is read.
    """
    budget.check_range(part.index, part.start, part.end, max_decoded_bytes)
    summary = PartSummary()
    writer = part_writer(sink, scorer)
    try:
        if part.end > part.start:
            _stream(
                scorer,
                path,
                columns,
                part,
                writer=writer,
                summary=summary,
                chunk_bytes=chunk_bytes,
                on_chunk=on_chunk,
            )
    finally:
        writer.close()
    return summary


def _stream(
    scorer: ChunkScorer,
    path: RangeSource,
    columns: Sequence[str],
    part: Part,
    *,
    writer: FormulaSafeWriter,
    summary: PartSummary,
    chunk_bytes: int,
    on_chunk: Callable[[PartSummary], None] | None,
) -> None:
    lines = _Lines()
    position = {name: i for i, name in enumerate(columns)}
    try:
        reader = pacsv.open_csv(
            open_range(path, part.start, part.end),
            read_options=pacsv.ReadOptions(
                column_names=list(columns), block_size=chunk_bytes, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=False,
                ignore_empty_lines=False,
                invalid_row_handler=lines.handler,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(columns, pa.string()),
                strings_can_be_null=False,
                check_utf8=False,
            ),
        )
        for batch in reader:
            numbers, unreadable = lines.assign(batch.num_rows)
            outcome = scorer.score(pa.Table.from_batches([batch]), part.lines_before + numbers)
            table = _splice(scorer, outcome.table, unreadable, part, position)
            writer.write_table(table)
            summary.add(outcome.rows, outcome.failed, outcome.examples)
            _add_unreadable(summary, scorer, unreadable, part, position)
            if on_chunk is not None:
                on_chunk(summary)
        rest = lines.rest()
        if rest:
            writer.write_table(_unreadable_table(scorer, rest, part, position))
            _add_unreadable(summary, scorer, rest, part, position)
    except pa.ArrowInvalid as exc:
        raise NotCsv(f"the file cannot be read as CSV: {exc}") from exc


def _add_unreadable(
    summary: PartSummary,
    scorer: ChunkScorer,
    unreadable: list[tuple[int, int, str, int]],
    part: Part,
    position: dict[str, int],
) -> None:
    if unreadable:
        table = _unreadable_table(scorer, unreadable, part, position)
        examples = list(
            zip(table.column(0).to_pylist(), table.column("error").to_pylist(), strict=True)
        )
        summary.add(len(unreadable), len(unreadable), examples)


def _unreadable_table(
    scorer: ChunkScorer,
    unreadable: list[tuple[int, int, str, int]],
    part: Part,
    position: dict[str, int],
) -> pa.Table:
    rows = []
    for _, line, text, found in unreadable:
        fields = next(csv.reader([text]), [])

        def value(name: str, fields: list[str] = fields) -> str | None:
            i = position[name]
            return fields[i] if i < len(fields) else None

        key = value(scorer.id_column) if scorer.id_column else part.lines_before + line
        extras = [value(name) for name in scorer.extra_columns]
        error = f"the line has {found} field(s), the header {len(position)}"
        rows.append((part.lines_before + line, key, extras, error))
    return scorer.unreadable(rows)


def _splice(
    scorer: ChunkScorer,
    table: pa.Table,
    unreadable: list[tuple[int, int, str, int]],
    part: Part,
    position: dict[str, int],
) -> pa.Table:
    """Put the rows of unreadable lines in their place among the parsed rows."""
    if not unreadable:
        return table
    pieces: list[pa.Table] = []
    at = 0
    for k, *rest in unreadable:
        pieces.append(table.slice(at, k - at))
        pieces.append(_unreadable_table(scorer, [(k, *rest)], part, position))
        at = k
    pieces.append(table.slice(at))
    return pa.concat_tables(pieces)
