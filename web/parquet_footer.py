"""Reading a Parquet file's column names and row count from its footer, with the standard library.

The web checks an uploaded Parquet file's schema before queueing it, the same
way it checks a CSV header, but it never imports pyarrow (a heavy library that
belongs to the workers; a test holds the web to this). A Parquet file ends
with its metadata (a Thrift ``FileMetaData`` struct, compact protocol), the
metadata's length (4 bytes, little-endian) and the magic ``PAR1``; only that
footer is read, never the data. The decoder below reads the two fields needed
(field 2, the flattened schema tree, and field 3, the row count), skips
every field before them by its wire type and stops there (writers write fields
in order, so the row groups' metadata, the bulk of a footer, is never decoded).
Every count in the footer is bounded by the bytes left and every loop checks
its position, so decoding is linear in the footer's size, which is bounded.
"""

from __future__ import annotations

import os
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

MAGIC = b"PAR1"
# metadata larger than this is refused rather than read: a hostile footer of this size
# takes ~20 s of one web process's CPU to decode (pausing for its other requests)
MAX_FOOTER_BYTES = 16 << 20
MAX_DEPTH = 64  # Thrift structs nested deeper than this are refused
PAUSE_EVERY = 1 << 14  # decoded elements between two calls of the reader's ``pause``

# compact protocol wire types
_STOP, _TRUE, _FALSE, _BYTE, _I16, _I32, _I64, _DOUBLE, _BINARY, _LIST, _SET, _MAP, _STRUCT = range(
    13
)


# bytes an element of these types takes inside a list or set (a bool: one byte there)
_FIXED_WIDTH = {_TRUE: 1, _FALSE: 1, _BYTE: 1, _DOUBLE: 8}


def _cooperate() -> None:
    time.sleep(0)  # gevent's sleep once the web's worker has patched the standard library


class NotParquet(ValueError):
    """The file is not a readable Parquet file; the message says why."""


@dataclass(frozen=True)
class ParquetFooter:
    """What the footer says about the file's top-level columns and rows."""

    columns: list[str]
    nested: list[str]  # top-level columns that are groups (structs, lists, maps)
    num_rows: int


@dataclass
class _Element:
    name: str = ""
    num_children: int = 0


def read_footer(source: Path | str | BinaryIO) -> ParquetFooter:
    """The columns and row count of a Parquet file, by path or as a seekable binary file
    (``NotParquet`` otherwise)."""
    if isinstance(source, str | Path):
        with open(source, "rb") as f:
            return read_footer(f)
    f = source
    size = f.seek(0, os.SEEK_END)
    f.seek(0)
    if size < 12 or f.read(4) != MAGIC:
        raise NotParquet("the file does not start with the Parquet magic bytes")
    f.seek(size - 8)
    tail = f.read(8)
    if tail[4:] != MAGIC:
        raise NotParquet("the file does not end with the Parquet magic bytes (encrypted?)")
    length = struct.unpack("<I", tail[:4])[0]
    if length > size - 12:
        raise NotParquet("the footer's length is larger than the file")
    if length > MAX_FOOTER_BYTES:
        raise NotParquet(f"the footer is larger than {MAX_FOOTER_BYTES} bytes")
    f.seek(size - 8 - length)
    raw = f.read(length)
    return decode_footer(raw)


def decode_footer(raw: bytes) -> ParquetFooter:
    """The columns and row count in a footer's Thrift bytes (``NotParquet`` otherwise)."""
    try:
        elements, num_rows = _Reader(raw).file_metadata()
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise NotParquet("the footer cannot be decoded") from exc
    return _top_level(elements, num_rows)


def _top_level(elements: list[_Element], num_rows: int | None) -> ParquetFooter:
    if not elements or num_rows is None or num_rows < 0:
        raise NotParquet("the footer has no schema or no row count")
    columns: list[str] = []
    nested: list[str] = []
    at = 1
    for _ in range(elements[0].num_children):
        if at >= len(elements):
            raise NotParquet("the footer's schema is truncated")
        element = elements[at]
        columns.append(element.name)
        if element.num_children:
            nested.append(element.name)
        at = _skip_subtree(elements, at)
    return ParquetFooter(columns, nested, num_rows)


def _skip_subtree(elements: list[_Element], at: int) -> int:
    """Index just past the element at ``at`` and all its descendants."""
    left = 1
    while left:
        if at >= len(elements):
            raise NotParquet("the footer's schema is truncated")
        left += elements[at].num_children - 1
        at += 1
    return at


class _Reader:
    """A Thrift compact-protocol decoder over the footer's bytes.

    Every read checks that its bytes are there; every count (list, set, map) is
    bounded by the bytes left, since each element takes at least one; so the
    work is linear in the footer's size. ``pause`` runs every ``PAUSE_EVERY``
    elements: under gevent, ``time.sleep(0)`` lets the process's other requests
    run while a large footer is decoded.
    """

    def __init__(self, data: bytes, pause: Callable[[], None] = _cooperate) -> None:
        self.data = data
        self.pos = 0
        self._pause = pause
        self._steps = 0

    def file_metadata(self) -> tuple[list[_Element], int | None]:
        elements: list[_Element] = []
        num_rows: int | None = None
        last = 0
        while (header := self._field_header(last)) is not None:
            last, kind = header
            if last == 2 and kind == _LIST:
                elem_kind, count = self._list_header()
                if elem_kind != _STRUCT:
                    raise NotParquet("the footer's schema is not a list of structs")
                elements = [self._schema_element() for _ in range(count)]
            elif last == 3 and kind == _I64:
                num_rows = self._zigzag()
            else:
                self._skip(kind, 0)
            if elements and num_rows is not None:  # the row groups (field 4) are not needed
                break
        return elements, num_rows

    def _schema_element(self) -> _Element:
        element = _Element()
        last = 0
        while (header := self._field_header(last)) is not None:
            last, kind = header
            if last == 4 and kind == _BINARY:
                element.name = self._binary().decode("utf-8")
            elif last == 5 and kind == _I32:
                element.num_children = self._zigzag()
            else:
                self._skip(kind, 1)
        return element

    # primitives ------------------------------------------------------------------------
    def _need(self, n: int) -> None:
        """Refuse a read of ``n`` bytes that would run past the footer's end."""
        if n < 0 or self.pos + n > len(self.data):
            raise NotParquet("the footer cannot be decoded: it is truncated")

    def _left(self) -> int:
        return len(self.data) - self.pos

    def _step(self) -> None:
        """Count one decoded element; pause now and then."""
        self._steps += 1
        if not self._steps % PAUSE_EVERY:
            self._pause()

    def _byte(self) -> int:
        self._need(1)
        b = self.data[self.pos]
        self.pos += 1
        return b

    def _varint(self) -> int:
        shift = result = 0
        while True:
            b = self._byte()
            result |= (b & 0x7F) << shift
            if not b & 0x80:
                return result
            shift += 7
            if shift > 70:
                raise NotParquet("a number in the footer is too long")

    def _zigzag(self) -> int:
        n = self._varint()
        return (n >> 1) ^ -(n & 1)

    def _binary(self) -> bytes:
        n = self._varint()
        if n > self._left():
            raise NotParquet("a string in the footer runs past its end")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def _field_header(self, last: int) -> tuple[int, int] | None:
        """(field id, wire type) of the next field, or None at the struct's end."""
        self._step()
        b = self._byte()
        if b == _STOP:
            return None
        delta, kind = b >> 4, b & 0x0F
        return (last + delta if delta else self._zigzag()), kind

    def _list_header(self) -> tuple[int, int]:
        b = self._byte()
        count = b >> 4
        if count == 15:
            count = self._varint()
        if count > self._left():  # every element takes at least one byte
            raise NotParquet("a list in the footer is longer than the footer")
        return b & 0x0F, count

    def _map_header(self) -> tuple[int, int, int]:
        """(key type, value type, count) of a map; an empty map has no type byte."""
        count = self._varint()
        if not count:
            return _STOP, _STOP, 0
        if 2 * count > self._left():  # every entry takes at least two bytes
            raise NotParquet("a map in the footer is longer than the footer")
        types = self._byte()
        return types >> 4, types & 0x0F, count

    def _skip(self, kind: int, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise NotParquet("the footer is nested too deeply")
        if kind in (_TRUE, _FALSE):
            return
        if kind == _BYTE:
            self._skip_bytes(1)
        elif kind in (_I16, _I32, _I64):
            self._varint()
        elif kind == _DOUBLE:
            self._skip_bytes(8)
        elif kind == _BINARY:
            self._binary()
        elif kind in (_LIST, _SET):
            elem, count = self._list_header()
            self._skip_elements(elem, count, depth + 1)
        elif kind == _MAP:
            key, value, count = self._map_header()
            for _ in range(count):
                start = self.pos
                self._skip_element(key, depth + 1)
                self._skip_element(value, depth + 1)
                self._check_progress(start)
        elif kind == _STRUCT:
            last = 0
            while (header := self._field_header(last)) is not None:
                last, inner = header
                self._skip(inner, depth + 1)
        else:
            raise NotParquet(f"unknown Thrift type {kind} in the footer")

    def _skip_bytes(self, n: int) -> None:
        self._need(n)
        self.pos += n

    def _skip_elements(self, kind: int, count: int, depth: int) -> None:
        """Skip ``count`` elements of a list or set; fixed-size ones in one step."""
        width = _FIXED_WIDTH.get(kind)
        if width is not None:
            self._skip_bytes(width * count)
            return
        for _ in range(count):
            start = self.pos
            self._skip_element(kind, depth)
            self._check_progress(start)

    def _skip_element(self, kind: int, depth: int) -> None:
        self._step()
        if kind in (_TRUE, _FALSE):  # a bool inside a container takes one byte
            self._skip_bytes(1)
        else:
            self._skip(kind, depth)

    def _check_progress(self, start: int) -> None:
        """Every element of a container takes at least one byte: else the footer is corrupt."""
        if self.pos <= start:
            raise NotParquet("the footer cannot be decoded")
