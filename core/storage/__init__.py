"""Stored files behind one small interface: the local filesystem, or S3-compatible storage.

``storage_of(settings)`` is the store of this process: the local filesystem under
``LIFEBOAT_STORAGE_ROOT`` by default, an S3-compatible bucket when
``LIFEBOAT_STORAGE_URL=s3://bucket/prefix`` (:mod:`core.storage.s3`). Nothing
outside this package touches paths of stored files: callers name objects by key
(:mod:`core.storage.layout`) and use :class:`Storage`:

- ``writer(key)`` — a context manager yielding a binary file to stream into; the
  object appears whole when the block ends without an exception (temp file +
  rename; a multipart upload completed, or aborted), never half-written;
- ``open(key)`` — a seekable buffered reader (ranged GETs on S3);
- ``open_range(key, start, end)`` — a sequential reader of one byte range;
- ``open_stream(key)`` — a sequential reader of the whole object;
- ``stream(key)`` — the bytes in chunks (for a response body);
- ``size``, ``exists``, ``read_bytes``, ``write_bytes``, ``rename``,
  ``concat(key, head, sources)``, ``delete``, ``delete_prefix``,
  ``list(prefix)`` (:class:`Entry`: key, size, modification time),
  ``presigned_url(key, seconds)`` (None on the local filesystem).

A missing object raises ``FileNotFoundError``. This API is stable: other
branches build on it.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from core.settings import Settings
from core.storage import layout
from core.storage.base import Entry, Storage
from core.storage.local import LocalStorage

__all__ = [
    "PRESIGN_SECONDS",
    "Entry",
    "LocalStorage",
    "Storage",
    "layout",
    "open_storage",
    "storage_of",
]

S3_SCHEME = "s3://"
UPLOAD_CONCURRENCY = 2  # parts of one multipart upload in flight at once (each holds a part)
PRESIGN_SECONDS = 300  # seconds a presigned download URL stays valid


def storage_of(settings: Settings) -> Storage:
    """The store ``settings`` name, built once per process (a forked child builds its own:
    an S3 client's connections and runtime do not survive a fork)."""
    return _cached(
        settings.storage_url or "",
        settings.storage_root,
        settings.storage_part_bytes,
        os.getpid(),
    )


@lru_cache(maxsize=8)
def _cached(url: str, root: Path, part_bytes: int, _pid: int) -> Storage:
    return open_storage(url, root, part_bytes=part_bytes)


def open_storage(
    url: str, root: Path, *, part_bytes: int, concurrency: int = UPLOAD_CONCURRENCY
) -> Storage:
    """A new store: S3 for an ``s3://`` URL, else the local filesystem under ``root``."""
    if not url:
        return LocalStorage(root)
    if not url.startswith(S3_SCHEME) or len(url) <= len(S3_SCHEME):
        raise ValueError(f"LIFEBOAT_STORAGE_URL must be s3://bucket[/prefix], not {url!r}")
    # imported here so that a process on the local filesystem never loads the S3 client
    from core.storage.s3 import S3Storage

    return S3Storage(url, part_bytes=part_bytes, concurrency=concurrency)
