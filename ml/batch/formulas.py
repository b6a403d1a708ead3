"""Scored CSV cells a spreadsheet would run as formulas are written as text (CSV injection).

A batch's id and carried-through columns come from the uploaded file and go
back verbatim into the scored CSV, which people open in a spreadsheet. A
cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
a formula there (``=HYPERLINK(…)``, ``=cmd|…``). Following OWASP, such a text
cell gets a leading apostrophe, which a spreadsheet shows as text; numbers
(``-1.5``, ``+3e2``) are left alone. So that the Parquet copy, made from the
CSV, keeps the raw values, the escape is reversible: a cell that already
starts with apostrophes before such a character gets one more, and
:func:`restore` takes exactly one off each cell that :func:`neutralise`
touched. Vectorised with pyarrow (RE2) over whole chunks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

PREFIX = "'"
_TRIGGERS = r"[=+\-@\t\r]"  # what a formula starts with (RE2 and Python syntax alike)
_TRIGGER = f"^{PREFIX}*{_TRIGGERS}"  # leading apostrophes are part of the escape
_ESCAPED = f"^{PREFIX}+{_TRIGGERS}"
_DECIMAL = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # a number to a sheet
_NUMBER = f"^{_DECIMAL}$"  # RE2: ``$`` is the very end
_TRIGGER_RE = re.compile(_TRIGGER)
_NUMBER_RE = re.compile(_DECIMAL)
Column = pa.Array | pa.ChunkedArray


def neutralise_text(value: str) -> str:
    """One cell: with a leading apostrophe when a spreadsheet would read it as a formula."""
    if _TRIGGER_RE.match(value) and not _NUMBER_RE.fullmatch(value):
        return PREFIX + value
    return value


def neutralise(column: Column) -> Column:
    """A text column with every formula-like cell escaped (the same column when none is).

    Most columns have no cell starting with a formula character, or only numbers
    (negative amounts) that do: both are answered without rewriting the column.
    """
    risky = pc.match_substring_regex(column, _TRIGGER)
    if not pc.any(risky).as_py():
        return column
    risky = pc.and_not(risky, pc.match_substring_regex(column, _NUMBER))
    if not pc.any(risky).as_py():
        return column
    return pc.if_else(risky, pc.utf8_replace_slice(column, 0, 0, PREFIX), column)


def restore(column: Column) -> Column:
    """The raw values of a column :func:`neutralise` escaped."""
    escaped = pc.match_substring_regex(column, _ESCAPED)
    if not pc.any(escaped).as_py():
        return column
    return pc.if_else(escaped, pc.utf8_slice_codeunits(column, 1), column)


def _map_text(table: pa.Table, fn, names: Iterable[str] | None = None) -> pa.Table:  # type: ignore[no-untyped-def]
    wanted = set(table.schema.names if names is None else names)
    for i, f in enumerate(table.schema):
        if f.name in wanted and (pa.types.is_string(f.type) or pa.types.is_large_string(f.type)):
            column = table.column(i)
            changed = fn(column)
            if changed is not column:
                table = table.set_column(i, f, changed)
    return table


def neutralise_table(table: pa.Table, names: Iterable[str] | None = None) -> pa.Table:
    """The text columns ``names`` (all by default) with their formula-like cells escaped."""
    return _map_text(table, neutralise, names)


def restore_table(table: pa.Table) -> pa.Table:
    """Every text column of ``table`` with the escapes of :func:`neutralise_table` undone.

    A column that was not escaped is left as it was, as long as none of its cells
    starts with an apostrophe before a formula character (the scorer's own
    ``prediction`` and ``error`` texts never do).
    """
    return _map_text(table, restore)


class FormulaSafeWriter:
    """A pyarrow CSV writer escaping the formula-like cells of the text columns ``names``.

    Only the columns that come from the upload need it (id and carried-through
    columns); the scorer's own texts are never formulas, and skipping them keeps
    the writer fast.
    """

    def __init__(self, writer: pacsv.CSVWriter, names: Iterable[str] | None = None) -> None:
        self._writer = writer
        self._names = None if names is None else list(names)

    def write_table(self, table: pa.Table) -> None:
        self._writer.write_table(neutralise_table(table, self._names))

    def close(self) -> None:
        self._writer.close()
