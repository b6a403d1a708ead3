"""The byte budget of a batch part: how much decoded data one part may produce.

A part of a CSV upload is a byte range, its decoded text about as large; a part
of a Parquet upload is a run of row groups, whose compressed pages may decode to
far more than the file's size (highly compressible values, or a dictionary
value repeated on every row). A part over the budget fails its job with
:class:`OverBudget`, naming the part and the row group, instead of the scoring
process being killed for its memory:

- before decoding anything, the footer's uncompressed size of the columns read
  (:func:`check_row_groups`; a CSV part's byte range: :func:`check_range`);
- while decoding, what each batch expands to (:class:`DecodedBytes`): Parquet
  string columns are read as dictionaries, and a dictionary column's expanded
  size is summed from its values' lengths before any row is expanded.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import accumulate

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ml.errors import MLError

BUDGET_SETTING = "LIFEBOAT_BATCH_PART_DECODED_BYTES"  # named in the error, for operators


class OverBudget(MLError):
    """A part of an upload decodes to more bytes than a part may hold."""


def _refuse(what: str, size: int, budget: int) -> OverBudget:
    return OverBudget(
        f"{what} decodes to {size:,} bytes, over the budget of {budget:,} bytes for one part "
        f"({BUDGET_SETTING}); split the file (Parquet: write smaller row groups)"
    )


def check_range(index: int, start: int, end: int, budget: int) -> None:
    """A CSV part: its bytes ``[start, end)`` are what it decodes."""
    if end - start > budget:
        raise _refuse(f"part {index} (bytes {start:,}-{end:,} of the file)", end - start, budget)


def check_row_groups(
    meta: pq.FileMetaData, index: int, groups: Sequence[int], columns: Sequence[str], budget: int
) -> None:
    """A Parquet part, from its footer: the uncompressed size of the columns read, summed
    over its row groups, must fit (no page of it is read before)."""
    wanted = set(columns)
    total = 0
    for g in groups:
        group = meta.row_group(g)
        size = sum(
            group.column(c).total_uncompressed_size
            for c in range(group.num_columns)
            if group.column(c).path_in_schema.split(".")[0] in wanted
        )
        total += size
        if total > budget:
            raise _refuse(
                f"part {index}: row group {g} (uncompressed, per the footer)", total, budget
            )


def expanded_bytes(column: pa.Array) -> int:
    """Bytes ``column`` takes once expanded to plain values (a dictionary's are not yet)."""
    if isinstance(column, pa.DictionaryArray):
        lengths = pc.binary_length(column.dictionary).take(column.indices)
        return int(pc.sum(lengths).as_py() or 0) + 4 * (len(column) + 1)
    return column.nbytes


class DecodedBytes:
    """The bytes a Parquet part has decoded so far, against its budget."""

    def __init__(self, meta: pq.FileMetaData, index: int, groups: Sequence[int], budget: int):
        self.index, self.groups, self.budget = index, list(groups), budget
        self.ends = list(accumulate(meta.row_group(g).num_rows for g in self.groups))
        self.rows = self.total = 0

    def add(self, batch: pa.RecordBatch) -> int:
        """Count a batch (before its values are expanded); returns its expanded bytes."""
        size = sum(expanded_bytes(c) for c in batch.columns)
        self.total += size
        self.rows += batch.num_rows
        if self.total > self.budget:
            at = next((i for i, end in enumerate(self.ends) if end >= self.rows), -1)
            group = self.groups[at]
            raise _refuse(
                f"part {self.index}: row group {group} (decoded)", self.total, self.budget
            )
        return size
