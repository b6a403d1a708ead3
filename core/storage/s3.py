"""The S3-compatible backend, through obstore (``LIFEBOAT_STORAGE_URL=s3://bucket/prefix``).

Endpoint, region and credentials come from the usual environment variables
(``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``; ``AWS_ALLOW_HTTP=true`` for an
endpoint without TLS), read by obstore itself. A
write is a multipart upload of ``part_bytes`` parts, at most ``concurrency`` in
flight (what bounds its memory), completed when the writer closes and aborted
when it fails, so an object is there whole or not at all. A read of a byte
range is one ranged GET, streamed; a random-access reader (Parquet footers)
fetches ranges as it is read.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any, BinaryIO, TypeVar

import obstore
from obstore.exceptions import BaseError, NotFoundError
from obstore.store import S3Store

from core.errors import StorageUnavailable
from core.storage.base import ChunkReader, Entry, Storage

READ_BUFFER_BYTES = 1 << 20  # bytes a reader buffers, and fetches at least per request
MAX_WINDOW_BYTES = 64 << 20  # longest ranged GET of a seekable reader reading in order
DELETE_BATCH = 1000  # keys per DeleteObjects request (S3's maximum)
# a failing request is retried with backoff for at most this long (obstore's default is
# 3 minutes: a web request would hang that long before its 503)
RETRY = {"max_retries": 5, "retry_timeout": timedelta(seconds=20)}

T = TypeVar("T")


def blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn``; under gevent (the web), in gevent's thread pool, so that a request
    waiting on the object store lets the process's other requests run (obstore's calls
    block in Rust, where gevent cannot switch; they release the GIL). The store failing
    (after obstore's retries) is :class:`StorageUnavailable`, a 503; a missing object
    ``FileNotFoundError``."""
    monkey = sys.modules.get("gevent.monkey")
    try:
        if monkey is not None and monkey.is_module_patched("socket"):
            import gevent

            return gevent.get_hub().threadpool.apply(fn, args, kwargs)
        return fn(*args, **kwargs)
    except NotFoundError as exc:
        raise FileNotFoundError(str(exc)) from exc
    except BaseError as exc:
        raise StorageUnavailable(f"the object store failed: {exc}") from exc


_used_by: list[int] = []  # the process that started obstore's runtime (it does not survive a fork)


class S3Storage(Storage):
    """Objects in a bucket, under the URL's prefix.

    obstore's runtime (its I/O threads) does not survive a fork: a process that forks
    (Celery's main worker process, gunicorn's master) must not use it first, or its
    children hang on their first request. Nothing here does; this class refuses instead.
    """

    name = "s3"

    def __init__(self, url: str, *, part_bytes: int, concurrency: int) -> None:
        if _used_by and _used_by[0] != os.getpid():
            raise RuntimeError(
                f"S3 storage was used in process {_used_by[0]} before it forked this one "
                f"({os.getpid()}); its client cannot work after a fork"
            )
        _used_by[:] = [os.getpid()]
        self.url = url
        # endpoint, region, credentials: the AWS_* variables
        self.store = S3Store.from_url(url, retry_config=RETRY)  # type: ignore[arg-type]
        self.part_bytes = part_bytes
        self.concurrency = concurrency

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        upload = obstore.open_writer(
            self.store, key, buffer_size=self.part_bytes, max_concurrency=self.concurrency
        )
        try:
            yield _Writer(upload)  # type: ignore[misc]
        except BaseException as exc:  # aborts the multipart upload: no object, no parts left
            blocking(upload.__exit__, type(exc), exc, exc.__traceback__)
            raise
        blocking(upload.close)

    def open(self, key: str) -> BinaryIO:
        return io.BufferedReader(_Reader(self.store, key), READ_BUFFER_BYTES)  # type: ignore[return-value]

    def open_range(self, key: str, start: int, end: int) -> BinaryIO:
        if end <= start:
            return io.BytesIO(b"")
        result = blocking(obstore.get, self.store, key, options={"range": (start, end)})
        chunks = _pulled(iter(result.stream(min_chunk_size=READ_BUFFER_BYTES)))
        return io.BufferedReader(ChunkReader(chunks), READ_BUFFER_BYTES)  # type: ignore[return-value]

    def size(self, key: str) -> int:
        return int(blocking(obstore.head, self.store, key)["size"])

    def rename(self, source: str, target: str) -> None:
        blocking(obstore.rename, self.store, source, target)  # a server-side copy, then a delete

    def concat(self, key: str, head: bytes, sources: list[str]) -> None:
        with self.writer(key) as out:
            out.write(head)
            for source in sources:
                result = blocking(obstore.get, self.store, source)
                for chunk in _pulled(iter(result.stream(min_chunk_size=READ_BUFFER_BYTES))):
                    out.write(chunk)  # type: ignore[arg-type]

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            blocking(obstore.delete, self.store, key)

    def delete_prefix(self, prefix: str) -> int:
        keys = [entry.key for entry in self.list(prefix)]
        for i in range(0, len(keys), DELETE_BATCH):
            blocking(obstore.delete, self.store, keys[i : i + DELETE_BATCH])
        return len(keys)

    def list(self, prefix: str) -> Iterator[Entry]:
        # obstore lists whole path segments: list the folder, keep what starts with prefix
        folder = prefix.rpartition("/")[0] or None
        for batch in _pulled(iter(obstore.list(self.store, prefix=folder))):
            for meta in batch:
                if meta["path"].startswith(prefix):
                    modified = meta["last_modified"].timestamp()
                    yield Entry(meta["path"], int(meta["size"]), modified)

    def presigned_url(self, key: str, expires_seconds: int) -> str | None:
        return obstore.sign(self.store, "GET", key, timedelta(seconds=expires_seconds))


def _pulled(items: Iterator[T]) -> Iterator[T]:
    """The items of a blocking iterator (a streamed body, a listing), each pulled by
    :func:`blocking`."""
    end = object()
    while (item := blocking(next, items, end)) is not end:
        yield item  # type: ignore[misc]


class _Writer(io.RawIOBase):
    """obstore's writable file as a Python binary stream (pyarrow and csv write to it)."""

    def __init__(self, upload: obstore.WritableFile) -> None:  # type: ignore[name-defined]
        self._upload = upload

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | memoryview) -> int:  # type: ignore[override]
        n = memoryview(data).nbytes
        if n:  # a caller may reuse its buffer (BufferedWriter does): bytes are copied once
            blocking(self._upload.write, data if isinstance(data, bytes) else bytes(data))
        return n

    def close(self) -> None:  # the upload completes when the writer's block ends
        super().close()


class _Reader(io.RawIOBase):
    """A seekable reader of an object by ranged GETs, each streamed.

    obstore's own seekable reader makes a request per read (100 MB read 4 MiB at a time
    took 14x as long as one streamed GET, measured against moto): this one streams a
    window from where reading starts, and each next window, while reads go on in order,
    is twice as long (up to ``MAX_WINDOW_BYTES``). A seek drops the window, so random
    access (a Parquet footer, its row groups) fetches little it does not read.
    """

    def __init__(self, store: S3Store, key: str) -> None:
        self._store = store
        self._key = key
        self._size = int(blocking(obstore.head, store, key)["size"])
        self._pos = 0
        self._window: io.RawIOBase | None = None
        self._window_bytes = READ_BUFFER_BYTES

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        target = max(0, base + offset)
        if target != self._pos:
            self._window = None
            self._window_bytes = READ_BUFFER_BYTES
            self._pos = target
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while self._pos < self._size:
            if self._window is None:
                end = min(self._size, self._pos + max(self._window_bytes, len(buffer)))
                result = blocking(
                    obstore.get, self._store, self._key, options={"range": (self._pos, end)}
                )
                chunks = _pulled(iter(result.stream(min_chunk_size=READ_BUFFER_BYTES)))
                self._window = ChunkReader(chunks)
                self._window_bytes = min(MAX_WINDOW_BYTES, self._window_bytes * 2)
            n = self._window.readinto(buffer)
            if n:
                self._pos += n
                return n
            self._window = None  # this window is read: the next one
        return 0

    def close(self) -> None:
        self._window = None
        super().close()
