"""A Parquet file's columns and row count, read from its footer without pyarrow (the web's way)."""

from __future__ import annotations

import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from web.parquet_footer import NotParquet, read_footer


def test_the_footer_gives_top_level_columns_nested_ones_and_the_row_count(tmp_path: Path) -> None:
    table = pa.table(
        {
            "pclass": pa.array(range(1000)),
            "sex": ["male"] * 1000,
            "where": pa.array([{"port": "S", "deck": [1, 2]}] * 1000),
            "fare": [1.5] * 1000,
            "tags": [["a"]] * 1000,
            "flag": [True] * 1000,
        }
    )
    path = tmp_path / "f.parquet"
    pq.write_table(table, path, row_group_size=64, compression="zstd")
    footer = read_footer(path)
    assert footer.columns == ["pclass", "sex", "where", "fare", "tags", "flag"]
    assert footer.nested == ["where", "tags"]
    assert footer.num_rows == 1000


def test_a_pandas_written_file_is_read_with_its_categoricals(tmp_path: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame({"sex": pd.Categorical(["male", "female"]), "age": [1.0, None]})
    path = tmp_path / "f.parquet"
    frame.to_parquet(path, index=False)
    footer = read_footer(path)
    assert (footer.columns, footer.nested, footer.num_rows) == (["sex", "age"], [], 2)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"pclass,sex\n1,male\n", "the file does not start with the Parquet magic bytes"),
        (b"PAR1" + b"\0" * 20 + b"PARE", "the file does not end with the Parquet magic bytes"),
        (b"PAR1" + b"\0" * 8 + struct.pack("<I", 999) + b"PAR1", "the footer's length is larger"),
        (b"PAR1" + b"\x19\x0c" + struct.pack("<I", 2) + b"PAR1", "the footer cannot be decoded"),
    ],
)
def test_a_file_that_is_not_parquet_is_refused_saying_why(
    tmp_path: Path, body: bytes, message: str
) -> None:
    path = tmp_path / "f.parquet"
    path.write_bytes(body)
    with pytest.raises(NotParquet, match=message):
        read_footer(path)


def test_a_truncated_file_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "whole.parquet"
    pq.write_table(pa.table({"a": list(range(100))}), source)
    data = source.read_bytes()
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(NotParquet):
        read_footer(cut)
