"""The storage interface every backend implements, and what a listing yields."""

from __future__ import annotations

import io
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO

STREAM_BYTES = 1 << 20  # bytes per chunk of a streamed read


@dataclass(frozen=True)
class Entry:
    """A stored object found by :meth:`Storage.list`."""

    key: str  # relative to the store's root or prefix, "/"-separated
    size: int  # bytes
    modified: float  # Unix time of its last write


class Storage(ABC):
    """Objects named by "/"-separated keys (``results/<job id>.csv``), written whole or not at all.

    A missing object raises ``FileNotFoundError`` from every read; deleting one is not an
    error. A written object is visible only once its writer has closed without an error.
    """

    name: str  # "local" or "s3", for logs and metrics

    @abstractmethod
    def writer(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A file to stream ``key``'s bytes into; the object appears when the block ends
        without an exception (else nothing is left). Memory is bounded by the backend's
        part size, whatever the object's size."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A seekable, buffered reader of ``key`` (byte ranges fetched as they are read)."""

    @abstractmethod
    def open_range(self, key: str, start: int, end: int) -> BinaryIO:
        """A sequential reader of bytes ``[start, end)`` of ``key`` (one ranged read)."""

    @abstractmethod
    def size(self, key: str) -> int:
        """Bytes of ``key``."""

    @abstractmethod
    def rename(self, source: str, target: str) -> None:
        """Move ``source`` to ``target`` (replacing it)."""

    @abstractmethod
    def concat(self, key: str, head: bytes, sources: list[str]) -> None:
        """Write ``head`` then the bytes of each of ``sources``, in order, as ``key``."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Delete ``key`` (nothing happens when it is missing)."""

    @abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object whose key starts with ``prefix``; returns how many went."""

    @abstractmethod
    def list(self, prefix: str) -> Iterator[Entry]:
        """Every object whose key starts with ``prefix``, at any depth, in no set order."""

    @abstractmethod
    def presigned_url(self, key: str, expires_seconds: int) -> str | None:
        """A URL anyone can GET ``key`` from for ``expires_seconds``; None if the backend
        has none (the local filesystem)."""

    # --- built on the operations above ---------------------------------------------------
    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except FileNotFoundError:
            return False
        return True

    def open_stream(self, key: str) -> BinaryIO:
        """A sequential reader of the whole of ``key`` (one streamed read: faster than
        :meth:`open` for reading in order)."""
        return self.open_range(key, 0, self.size(key))

    def stream(self, key: str, chunk_bytes: int = STREAM_BYTES) -> Iterator[bytes]:
        """The bytes of ``key`` in chunks; ``FileNotFoundError`` is raised before the first."""
        return _chunks(self.open_stream(key), chunk_bytes)

    def read_bytes(self, key: str) -> bytes:
        with self.open_stream(key) as f:
            return f.read()

    def write_bytes(self, key: str, data: bytes) -> None:
        with self.writer(key) as out:
            out.write(data)


def _chunks(reader: BinaryIO, chunk_bytes: int) -> Iterator[bytes]:
    with reader:
        while chunk := reader.read(chunk_bytes):
            yield chunk


class ChunkReader(io.RawIOBase):
    """A readable stream over an iterator of byte chunks (a streamed HTTP body)."""

    def __init__(self, chunks: Iterator[object]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk).cast("B")  # type: ignore[arg-type]
        n = min(len(buffer), len(self._pending))
        memoryview(buffer).cast("B")[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n
