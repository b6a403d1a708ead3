"""The local filesystem backend: objects are files under a root folder.

A write goes to a temporary sibling (``<name>.tmp-<random>``) renamed into place
when it is complete, so a reader never sees half a file. ``concat`` copies with
``copy_file_range`` (in the kernel, no bytes through Python) where the
filesystem allows it. Keys are checked to stay under the root.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from core.storage.base import Entry, Storage
from ml.batch.ranges import RangeFile

COPY_BYTES = 8 << 20  # bytes copied at a time by concat
TEMPORARY_MARK = ".tmp-"  # in the name of a file still being written


class LocalStorage(Storage):
    """Objects as files under ``root`` (``LIFEBOAT_STORAGE_ROOT``)."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"not a storage key: {key!r}")
        return self.root / key

    @contextlib.contextmanager
    def writer(self, key: str) -> Iterator[BinaryIO]:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}{TEMPORARY_MARK}{uuid.uuid4().hex[:12]}")
        try:
            with open(tmp, "wb") as out:
                yield out
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def open_range(self, key: str, start: int, end: int) -> BinaryIO:
        f = open(self._path(key), "rb")  # noqa: SIM115 — closed with the range reader
        f.seek(start)
        return io.BufferedReader(RangeFile(f, end - start))  # type: ignore[return-value]

    def size(self, key: str) -> int:
        path = self._path(key)
        if path.is_dir():
            raise FileNotFoundError(key)
        return path.stat().st_size

    def rename(self, source: str, target: str) -> None:
        path = self._path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self._path(source), path)

    def concat(self, key: str, head: bytes, sources: list[str]) -> None:
        with self.writer(key) as out:
            out.write(head)
            out.flush()  # the sources are copied by file descriptor, past Python's buffer
            for source in sources:
                with open(self._path(source), "rb") as src:
                    _copy(src, out)

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def delete_prefix(self, prefix: str) -> int:
        removed = 0
        for entry in list(self.list(prefix)):
            self.delete(entry.key)
            removed += 1
        # folders the prefix named or emptied (a batch job's parts) go too
        folder = self._path(prefix.rstrip("/")) if prefix.endswith("/") else None
        if folder is not None and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
        return removed

    def list(self, prefix: str) -> Iterator[Entry]:
        head = prefix.rpartition("/")[0]
        base = self._path(head) if head else self.root
        if not base.is_dir():
            return
        for folder, subfolders, names in os.walk(base):
            here = Path(folder).relative_to(self.root).as_posix()
            here = "" if here == "." else f"{here}/"
            # into a sub-folder only if keys under it can start with the prefix
            subfolders[:] = [
                d for d in subfolders if f"{here}{d}/".startswith(prefix[: len(here) + len(d) + 1])
            ]
            for name in names:
                key = here + name
                if not key.startswith(prefix):
                    continue
                try:
                    stat = os.stat(os.path.join(folder, name))
                except FileNotFoundError:
                    continue
                yield Entry(key, stat.st_size, stat.st_mtime)

    def presigned_url(self, key: str, expires_seconds: int) -> str | None:
        return None


def _copy(src: BinaryIO, dst: BinaryIO) -> None:
    try:
        while os.copy_file_range(src.fileno(), dst.fileno(), COPY_BYTES):
            pass
    except OSError:  # not supported here: copy the rest through user space
        while chunk := src.read(COPY_BYTES):
            dst.write(chunk)
        dst.flush()
