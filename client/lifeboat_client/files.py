"""Files going up (batch and report uploads) and coming down (results, reports).

An upload is read again from its start on every try, so a retried upload sends
the whole file; a stream that cannot seek is first copied to a temporary file.
A download goes to ``<name>.part`` and is renamed when complete; the part file
is deleted if anything stops it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from lifeboat_client.models import Progress

CHUNK_BYTES = 1 << 20  # bytes read or written at a time
PARQUET_SUFFIX = ".parquet"
PARQUET_TYPE = "application/vnd.apache.parquet"
CSV_TYPE = "text/csv"
PathOrFile = str | os.PathLike[str] | IO[bytes]
ProgressCallback = Callable[[Progress], None]


def is_parquet(name: str | os.PathLike[str] | None) -> bool:
    return bool(name) and Path(str(name)).suffix.lower() == PARQUET_SUFFIX


def content_type(name: str | os.PathLike[str] | None) -> str:
    return PARQUET_TYPE if is_parquet(name) else CSV_TYPE


class Upload:
    """A file to send: its size, its content type, and its chunks afresh for each try."""

    def __init__(self, source: PathOrFile, on_progress: ProgressCallback | None = None) -> None:
        self._stack = contextlib.ExitStack()
        self.name: str | None
        if isinstance(source, (str, os.PathLike)):
            self.name = os.fspath(source)
            self.file: IO[bytes] = self._stack.enter_context(open(self.name, "rb"))  # noqa: SIM115
        else:
            self.name = getattr(source, "name", None)
            self.file = source if _seekable(source) else self._spooled(source)
        self.start = self.file.tell()
        self.size = os.fstat(self.file.fileno()).st_size - self.start
        self.on_progress = on_progress
        self._report(0)  # the phase starts now, before the connection is made

    def _spooled(self, source: IO[bytes]) -> IO[bytes]:
        copy = self._stack.enter_context(tempfile.TemporaryFile())  # noqa: SIM115
        shutil.copyfileobj(source, copy, CHUNK_BYTES)
        copy.seek(0)
        return copy

    @property
    def content_type(self) -> str:
        return content_type(self.name if isinstance(self.name, str) else None)

    def chunks(self) -> Iterator[bytes]:
        """The file from its start (the Call's ``body`` factory: one iterator per try)."""
        self.file.seek(self.start)
        sent = 0
        self._report(sent)
        while data := self.file.read(CHUNK_BYTES):
            sent += len(data)
            self._report(sent)
            yield data

    async def achunks(self) -> Any:
        for data in self.chunks():
            yield data

    def _report(self, sent: int) -> None:
        if self.on_progress:
            self.on_progress(Progress(sent, self.size, "uploading", "bytes"))

    def close(self) -> None:
        self._stack.close()

    def __enter__(self) -> Upload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _seekable(f: IO[bytes]) -> bool:
    try:
        return f.seekable() and hasattr(f, "fileno") and f.fileno() >= 0
    except (OSError, ValueError):
        return False


class Download:
    """Where a streamed answer goes: a path (through a ``.part`` file) or an open file."""

    def __init__(
        self, to: PathOrFile, total: int, on_progress: ProgressCallback | None = None
    ) -> None:
        self.to = to
        self.total = total
        self.got = 0
        self.on_progress = on_progress
        self.part: Path | None = None
        self._out: IO[bytes] | None = None

    def __enter__(self) -> Download:
        if isinstance(self.to, (str, os.PathLike)):
            target = Path(self.to)
            self.part = target.with_name(target.name + ".part")
            self._out = self.part.open("wb")
        else:
            self._out = self.to
        return self

    def write(self, data: bytes) -> None:
        assert self._out is not None
        self._out.write(data)
        self.got += len(data)
        if self.on_progress:
            self.on_progress(Progress(self.got, self.total, "downloading", "bytes"))

    def __exit__(self, kind: object, exc: object, tb: object) -> None:
        if self.part is None:
            return
        assert self._out is not None
        self._out.close()
        if kind is None:
            self.part.replace(Path(self.to))  # type: ignore[arg-type]
        else:
            self.part.unlink(missing_ok=True)
