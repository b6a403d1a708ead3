"""The Parquet footer reader on arbitrary and mutated bytes: a footer or ``NotParquet``, quickly.

The footer is the first thing the web reads of an uploaded Parquet file, before
anything is queued: whatever its bytes, the reader must answer within a bound
(Hypothesis' deadline) with the footer or its own clean error.
"""

from __future__ import annotations

import contextlib
import io
import struct
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from web.parquet_footer import MAGIC, NotParquet, ParquetFooter, decode_footer, read_footer

FUZZ = settings(
    max_examples=300,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
)


def _real_footer() -> bytes:
    table = pa.table(
        {
            "pclass": pa.array(range(50)),
            "sex": ["male"] * 50,
            "where": pa.array([{"port": "S", "deck": [1, 2]}] * 50),
            "tags": [["a"]] * 50,
            "fare": [1.5] * 50,
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, row_group_size=10)
    data = buf.getvalue()
    (length,) = struct.unpack("<I", data[-8:-4])
    return data[-8 - length : -8]


REAL = _real_footer()


def _decodes_cleanly(raw: bytes) -> None:
    try:
        footer = decode_footer(raw)
    except NotParquet:
        return
    assert isinstance(footer, ParquetFooter)
    assert footer.num_rows >= 0
    assert set(footer.nested) <= set(footer.columns)


def _mutations() -> st.SearchStrategy[bytes]:
    """The real footer with bytes overwritten, inserted, deleted or cut off."""

    def apply(edits: list[tuple[str, int, int]], cut: int) -> bytes:
        data = bytearray(REAL)
        for op, at, value in edits:
            i = at % (len(data) + 1)
            if op == "set" and i < len(data):
                data[i] = value
            elif op == "insert":
                data[i:i] = bytes([value])
            elif op == "delete":
                del data[i : i + 1]
            elif op == "varint":  # a huge count where one was
                data[i:i] = b"\xff" * (value % 10) + b"\x7f"
        return bytes(data[: max(0, len(data) - cut)])

    edit = st.tuples(
        st.sampled_from(["set", "insert", "delete", "varint"]),
        st.integers(0, len(REAL)),
        st.integers(0, 255),
    )
    return st.builds(apply, st.lists(edit, min_size=1, max_size=8), st.integers(0, 16))


def test_the_real_footer_decodes() -> None:
    footer = decode_footer(REAL)
    assert footer.columns == ["pclass", "sex", "where", "tags", "fare"]
    assert footer.nested == ["where", "tags"]
    assert footer.num_rows == 50


@FUZZ
@given(st.binary(max_size=4096))
@example(bytes([0x1B]) + bytes([0x80] * 8) + b"\x01\x11\x00")  # a map of 2**56 bools
@example(bytes([0x19, 0xF1]) + b"\xff" * 9 + b"\x01")  # a list of 2**63 bools
@example(bytes([0x1C]) * 2000)  # structs nested 2000 deep
def test_arbitrary_footer_bytes_decode_or_are_refused_cleanly(raw: bytes) -> None:
    _decodes_cleanly(raw)


@FUZZ
@given(_mutations())
def test_a_mutated_real_footer_decodes_or_is_refused_cleanly(raw: bytes) -> None:
    _decodes_cleanly(raw)


@FUZZ
@given(st.one_of(_mutations(), st.binary(max_size=512)), st.binary(max_size=64))
def test_a_whole_file_of_arbitrary_bytes_is_read_or_refused_cleanly(
    tmp_path_factory: pytest.TempPathFactory, footer: bytes, data: bytes
) -> None:
    path: Path = tmp_path_factory.mktemp("f") / "f.parquet"
    path.write_bytes(MAGIC + data + footer + struct.pack("<I", len(footer)) + MAGIC)
    with contextlib.suppress(NotParquet):  # the clean refusal; anything else fails the test
        read_footer(path)


def test_the_24_byte_file_that_hung_a_web_worker_is_refused() -> None:
    footer = bytes([0x1B]) + bytes([0x80] * 8) + b"\x01\x11\x00"
    with pytest.raises(NotParquet, match="a map in the footer is longer than the footer"):
        decode_footer(footer)


def test_a_large_footer_pauses_for_other_requests_while_it_is_decoded() -> None:
    from web import parquet_footer

    pauses = []
    count = 4 * parquet_footer.PAUSE_EVERY
    footer = bytes([0x19, 0xF5]) + _varint(count) + b"\x00" * count + b"\x00"
    reader = parquet_footer._Reader(footer, pause=lambda: pauses.append(1))
    assert reader.file_metadata() == ([], None)
    assert len(pauses) == 4


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)
