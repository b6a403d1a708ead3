"""Formula-like text cells of a scored CSV: escaped for spreadsheets, restored for Parquet."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ml.batch.formulas import neutralise, neutralise_table, neutralise_text, restore, restore_table


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+A1", "'+A1"),
        ("-A1", "'-A1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-", "'-"),
        ("-inf", "'-inf"),
        ("'=x", "''=x"),  # one more apostrophe: the Parquet copy gets "'=x" back
        ("-1.5", "-1.5"),
        ("+3e2", "+3e2"),
        ("-.5", "-.5"),
        ("'abc", "'abc"),
        ("1-2", "1-2"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_a_cell_a_spreadsheet_would_run_gets_an_apostrophe_and_numbers_do_not(
    cell: str, written: str
) -> None:
    assert neutralise_text(cell) == written
    assert neutralise(pa.array([cell, None])).to_pylist() == [written, None]


# text mostly made of the characters that matter here
CELLS = st.text(st.sampled_from("=+-@\t\r'0123456789.eEa x"), max_size=8) | st.text(max_size=8)


@settings(max_examples=300, deadline=timedelta(seconds=2))
@given(st.lists(st.none() | CELLS, max_size=50))
def test_restore_undoes_neutralise_and_the_vector_and_text_forms_agree(
    cells: list[str | None],
) -> None:
    column = pa.array(cells, pa.string())
    escaped = neutralise(column)
    assert escaped.to_pylist() == [None if c is None else neutralise_text(c) for c in cells]
    assert restore(escaped).to_pylist() == cells


def test_a_table_is_escaped_in_the_named_columns_only_and_restored() -> None:
    table = pa.table({"id": ["=1", "a"], "note": ["@x", "-2"], "p": [0.5, 0.25]})
    escaped = neutralise_table(table, ["note"])
    assert escaped.column("id").to_pylist() == ["=1", "a"]
    assert escaped.column("note").to_pylist() == ["'@x", "-2"]
    assert restore_table(escaped).equals(table)
