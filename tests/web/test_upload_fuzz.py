"""The upload parsers on arbitrary and mutated bytes: a result or their own 4xx error, quickly.

The CSV header reader and the streaming multipart decoder read bytes straight
from the network before anything is queued. Whatever the bytes, each answers
within a bound (Hypothesis' deadline) with its result or a ``LifeboatError``
(rendered as a 4xx problem naming the field).
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core.errors import InvalidRequest, LifeboatError
from core.storage import LocalStorage
from web.uploads import FILE_FIELD, read_header, receive

FUZZ = settings(
    max_examples=300,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CSV = b"pclass,sex,age,sibsp,parch,fare,embarked,name\n1,female,29,0,0,211.3,S,Allen\n"
BOUNDARY = b"lifeboat-fuzz"
MAX_BYTES = 1 << 16
_files = itertools.count()


def _mutated(base: bytes) -> st.SearchStrategy[bytes]:
    """``base`` with bytes overwritten, inserted or deleted, then maybe cut short."""

    def apply(edits: list[tuple[int, int, int]], cut: int) -> bytes:
        data = bytearray(base)
        for op, at, value in edits:
            i = at % (len(data) + 1)
            if op == 0 and i < len(data):
                data[i] = value
            elif op == 1:
                data[i:i] = bytes([value])
            else:
                del data[i : i + 1]
        return bytes(data[: len(data) - cut if cut < len(data) else len(data)])

    edit = st.tuples(st.integers(0, 2), st.integers(0, len(base)), st.integers(0, 255))
    return st.builds(apply, st.lists(edit, min_size=1, max_size=10), st.integers(0, 20))


# a few bytes that matter to these parsers, so random data hits them often
_SPECIAL = st.sampled_from([b"\r", b"\n", b'"', b",", b"\xef\xbb\xbf", b"\x00", b"\xff", b"--"])
_NOISY = st.lists(st.one_of(_SPECIAL, st.binary(max_size=8)), max_size=64).map(b"".join)


# --- the CSV header --------------------------------------------------------------------------
def _header_of(tmp: Path, data: bytes) -> None:
    store, key = LocalStorage(tmp), f"uploads/u{next(_files)}.csv"
    store.write_bytes(key, data)
    try:
        header = read_header(store, key, len(data))
    except InvalidRequest as exc:
        refused: InvalidRequest | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.errors[0]["loc"] == ["file"]
        return
    assert 0 < header.data_start <= len(data)
    assert header.estimated_rows >= 1
    assert all("\r" not in c and "\n" not in c for c in header.columns)


@FUZZ
@given(st.one_of(st.binary(max_size=2048), _NOISY, _mutated(CSV)))
@example(b"a\rb\n")  # the bare carriage return that was a 500 on report uploads
@example(b'"a\nb",c\n1,2\n')
@example(b"\xef\xbb\xbf\n1\n")
def test_any_bytes_give_a_header_or_a_422_naming_the_file(tmp_path: Path, data: bytes) -> None:
    _header_of(tmp_path, data)


def test_a_bare_carriage_return_in_the_header_is_refused_saying_so(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    store.write_bytes("x.csv", b"a\rb\n1\n")
    with pytest.raises(InvalidRequest) as raised:
        read_header(store, "x.csv", 6)
    assert raised.value.errors == [
        {
            "loc": ["file"],
            "msg": "the header line holds a carriage return that does not end it (bare CR)",
        }
    ]


def test_a_crlf_header_is_read(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    store.write_bytes("x.csv", b"a,b\r\n1,2\r\n")
    assert read_header(store, "x.csv", 10).columns == ["a", "b"]


# --- multipart -------------------------------------------------------------------------------
def _multipart(parts: list[tuple[str, str | None, bytes]]) -> bytes:
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += b"--" + BOUNDARY + b"\r\nContent-Disposition: " + disposition.encode()
        out += b"\r\n\r\n" + value + b"\r\n"
    return out + b"--" + BOUNDARY + b"--\r\n"


VALID = _multipart([("type", None, b"drift"), (FILE_FIELD, "x.csv", CSV)])
app = Flask(__name__)


def _receive(tmp: Path, body: bytes, content_type: str) -> None:
    store, key = LocalStorage(tmp), f"uploads/m{next(_files)}"
    with app.test_request_context(
        "/", method="POST", data=body, headers={"Content-Type": content_type}
    ):
        try:
            upload = receive(store, key, MAX_BYTES)
        except LifeboatError as exc:
            refused: LifeboatError | None = exc
        else:
            refused = None
    if refused is not None:
        assert 400 <= refused.status < 500
        assert list(store.list(key)) == []  # nothing half-written is left (no temp file)
        return
    assert upload.size == store.size(key) <= MAX_BYTES
    assert all(len(v) <= 4096 for v in upload.fields.values())


@FUZZ
@given(st.one_of(st.binary(max_size=2048), _NOISY, _mutated(VALID)))
@example(VALID)
@example(b"--" + BOUNDARY + b"\r\n" + b"Content-Disposition: form-data\r\n" * 500)
def test_any_multipart_body_is_received_or_refused_with_a_4xx(tmp_path: Path, body: bytes) -> None:
    _receive(tmp_path, body, f"multipart/form-data; boundary={BOUNDARY.decode()}")


@FUZZ
@given(st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=80))  # header text
@example("boundary=")
@example('boundary="' + "x" * 70 + '"')
def test_any_multipart_content_type_is_received_or_refused_with_a_4xx(
    tmp_path: Path, params: str
) -> None:
    _receive(tmp_path, VALID, f"multipart/form-data; {params}")


def test_the_valid_multipart_body_is_received_whole(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY.decode()}"}
    with app.test_request_context("/", method="POST", data=VALID, headers=headers):
        upload = receive(store, "m", MAX_BYTES)
    got = (upload.fields, upload.filename, store.read_bytes("m"))
    assert got == ({"type": "drift"}, "x.csv", CSV)
