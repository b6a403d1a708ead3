"""Streaming an upload (CSV or Parquet) to storage, and reading its header, never holding it whole.

A raw ``text/csv`` (or Parquet) body is copied from the request stream; a
``multipart/form-data`` body is parsed as it streams in (werkzeug's sans-IO
decoder) and its ``file`` part written straight into the store (a file on the
local filesystem; a multipart upload to S3), so neither is ever spooled to the
web's disk or buffered whole; a refused upload leaves no object behind. The
size limit is enforced on the bytes read, with or without a ``Content-Length``.
The file's sha256 can be computed on the way (for ``Idempotency-Key``). A
Parquet file's "header" is its footer's schema (:mod:`web.parquet_footer`),
read by ranges. Standard library, werkzeug and :mod:`core.storage` only.
"""

from __future__ import annotations

import csv
import hashlib
import math
from dataclasses import dataclass, field
from typing import BinaryIO

from flask import request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from core.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from core.storage import Storage
from web.parquet_footer import NotParquet, read_footer

READ_BYTES = 1 << 20  # bytes read from the request at a time
MAX_FIELD_BYTES = 4096  # a multipart form field other than the file
MAX_HEADER_BYTES = 1 << 20  # a header line longer than this is not a CSV header
SAMPLE_BYTES = 256 * 1024  # bytes after the header used to estimate the number of rows
CSV_TYPES = ("text/csv", "application/csv")
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet")
PARQUET_SUFFIX = ".parquet"
FILE_FIELD = "file"
CSV, PARQUET = "csv", "parquet"  # upload formats


@dataclass
class Upload:
    """A body streamed to the object ``key``: its size, format, form fields, file name, sha256."""

    key: str
    size: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    format: str = CSV
    sha256: str | None = None  # of the file's bytes, when asked for
    multipart: bool = False  # the file came as the ``file`` part of a form


@dataclass(frozen=True)
class Header:
    """The header line of an uploaded CSV and what it says about the file."""

    columns: list[str]
    data_start: int  # byte offset of the first data line
    estimated_rows: int


def receive(
    store: Storage,
    key: str,
    max_bytes: int,
    *,
    digest: bool = False,
    formats: tuple[str, ...] = (CSV, PARQUET),
) -> Upload:
    """Stream the request body (CSV, Parquet or multipart with a ``file`` part) to ``key``.

    With ``digest``, the sha256 of the file's bytes is computed as they are written.
    ``formats`` are the file formats the endpoint reads: another is 415.
    """
    mimetype = request.mimetype or ""
    types = {CSV: CSV_TYPES, PARQUET: PARQUET_TYPES}
    accepted = [t for fmt in formats for t in types[fmt]]
    named = [types[fmt][0] for fmt in formats] + ["multipart/form-data"]
    if mimetype not in (*accepted, "multipart/form-data"):
        raise _unsupported(named, mimetype)
    too_large = PayloadTooLarge(f"the upload is larger than {max_bytes} bytes")
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large
    # the app-wide limit is the JSON one; this endpoint takes files up to its own
    request.max_content_length = max_bytes
    upload = Upload(key, format=PARQUET if mimetype in PARQUET_TYPES else CSV)
    upload.multipart = mimetype == "multipart/form-data"
    try:
        with store.writer(key) as out:  # an exception leaves no object
            sink = _Sink(out, hashlib.sha256() if digest else None)
            if mimetype == "multipart/form-data":
                _receive_multipart(upload, sink, max_bytes)
            else:
                for chunk in _chunks(max_bytes):
                    sink.write(chunk)
    except RequestEntityTooLarge as exc:
        raise too_large from exc
    upload.size = sink.size
    upload.sha256 = sink.hash.hexdigest() if sink.hash is not None else None
    if upload.format not in formats:  # a form's file part said Parquet
        raise _unsupported(named[:-1], "a Parquet file", loc=["form", FILE_FIELD])
    return upload


def _unsupported(types: list[str], got: str, loc: list[str] | None = None) -> UnsupportedMediaType:
    listing = ", ".join(types[:-1]) + f" or {types[-1]}" if len(types) > 1 else types[0]
    return UnsupportedMediaType(
        f"send the file as {listing} (got {got or 'none'!r})",
        errors=[{"loc": loc or ["header", "Content-Type"], "msg": f"must be {listing}"}],
    )


class _Sink:
    """The file an upload is written to, counting (and optionally hashing) its bytes."""

    def __init__(self, out: BinaryIO, hash_: hashlib._Hash | None) -> None:
        self._file = out
        self.hash = hash_
        self.size = 0

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self.size += len(data)
        if self.hash is not None:
            self.hash.update(data)


def _chunks(max_bytes: int):  # type: ignore[no-untyped-def]
    stream = request.stream
    read = 0
    while chunk := stream.read(READ_BYTES):
        read += len(chunk)
        if read > max_bytes:
            raise RequestEntityTooLarge()
        yield chunk


def _receive_multipart(upload: Upload, out: _Sink, max_bytes: int) -> None:
    boundary = request.mimetype_params.get("boundary", "").encode()
    if not boundary:
        raise InvalidRequest(
            "the multipart body has no boundary",
            errors=[{"loc": ["header", "Content-Type"], "msg": "boundary missing"}],
        )
    decoder = MultipartDecoder(boundary)  # field sizes are checked below
    part: Field | File | None = None
    value = bytearray()
    files = 0
    try:
        for chunk in _with_end(_chunks(max_bytes)):
            decoder.receive_data(chunk)
            event = decoder.next_event()
            while not isinstance(event, Epilogue | NeedData):
                if isinstance(event, File | Field):
                    part = event
                    value.clear()
                    if isinstance(event, File) and event.name == FILE_FIELD:
                        files += 1
                        upload.filename = event.filename
                        upload.format = _part_format(event)
                elif isinstance(event, Data) and part is not None:
                    if isinstance(part, File):
                        if part.name == FILE_FIELD and files == 1:
                            out.write(event.data)
                    else:
                        value += event.data
                        if len(value) > MAX_FIELD_BYTES:
                            raise InvalidRequest(
                                "form field too long",
                                errors=[{"loc": ["form", part.name], "msg": "too long"}],
                            )
                        if not event.more_data:
                            upload.fields[part.name] = value.decode("utf-8", "replace")
                event = decoder.next_event()
    except ValueError as exc:  # the decoder's word for a malformed body
        raise InvalidRequest(
            f"the multipart body is malformed: {exc}",
            errors=[{"loc": ["body"], "msg": "malformed multipart/form-data"}],
        ) from exc
    if files != 1:
        raise InvalidRequest(
            "send exactly one file, in the form field 'file'",
            errors=[{"loc": ["form", FILE_FIELD], "msg": "exactly one file required"}],
        )


def _part_format(part: File) -> str:
    """Parquet when the file part says so by its content type or its name's suffix."""
    mimetype = part.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    named = (part.filename or "").lower().endswith(PARQUET_SUFFIX)
    return PARQUET if mimetype in PARQUET_TYPES or named else CSV


def _with_end(chunks):  # type: ignore[no-untyped-def]
    yield from chunks
    yield None  # tells the decoder the body has ended


def read_header(store: Storage, key: str, size: int) -> Header:
    """The column names from the first line (422 when there is no usable header)."""
    with store.open_range(key, 0, min(size, MAX_HEADER_BYTES + 1 + SAMPLE_BYTES)) as f:
        head = f.readline(MAX_HEADER_BYTES + 1)
        sample = f.read(SAMPLE_BYTES)
    if not head.strip():
        raise _not_csv("the file is empty" if size == 0 else "the first line (the header) is empty")
    if not head.endswith(b"\n") and len(head) > MAX_HEADER_BYTES:
        raise _not_csv(f"the header line is longer than {MAX_HEADER_BYTES} bytes")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _not_csv("the header is not UTF-8 text") from exc
    line = text.removesuffix("\n").removesuffix("\r")
    if "\r" in line:  # workers split lines at LF: a CR inside a line would shift every column
        raise _not_csv("the header line holds a carriage return that does not end it (bare CR)")
    try:
        row = next(csv.reader([line]), [])
    except csv.Error as exc:
        raise _not_csv(f"the header is not a CSV line: {exc}") from exc
    columns = [c.strip() for c in row]
    if not sample.strip():
        raise _not_csv("the file has a header but no rows")
    lines = sample.count(b"\n") or 1
    per_line = len(sample) / lines
    estimated = max(1, math.ceil((size - len(head)) / per_line))
    return Header(columns, len(head), estimated)


def read_parquet_header(store: Storage, key: str) -> Header:
    """The top-level column names from a Parquet file's footer (422 when it is not Parquet).

    A nested column (struct, list, map) cannot be scored or carried through to a CSV
    file, so it is refused here, by name.
    """
    try:
        with store.open(key) as f:
            footer = read_footer(f)
    except NotParquet as exc:
        raise InvalidRequest(
            "the file is not a Parquet file", errors=[{"loc": ["file"], "msg": str(exc)}]
        ) from exc
    if footer.nested:
        raise InvalidRequest(
            f"the file has nested column(s): {', '.join(footer.nested)}",
            errors=[
                {"loc": ["file", "columns", name], "msg": "nested columns are not supported"}
                for name in footer.nested
            ],
        )
    if footer.num_rows == 0:
        raise InvalidRequest(
            "the file has no rows", errors=[{"loc": ["file"], "msg": "the file has no rows"}]
        )
    return Header(footer.columns, 0, footer.num_rows)


def _not_csv(msg: str) -> InvalidRequest:
    return InvalidRequest(
        "the file is not a CSV file with a header line", errors=[{"loc": ["file"], "msg": msg}]
    )
