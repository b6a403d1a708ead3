"""The few object operations the model store needs, and their local-folder backend.

Model version files are small (about a megabyte each), so they move as whole bytes.
A backend raises ``OSError`` when the store cannot be reached or a key is absent.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Protocol


class Objects(Protocol):
    """Keys holding bytes under one root (a folder, or a bucket and prefix)."""

    def keys(self, prefix: str) -> list[str]:
        """Every key starting with ``prefix`` (``a/b/c``-style paths)."""
        ...

    def read(self, key: str) -> bytes:
        """The bytes of a key; OSError if it is absent or unreadable."""
        ...

    def write(self, key: str, data: bytes) -> None:
        """Store the bytes under the key, whole or not at all."""
        ...


class LocalObjects:
    """Keys as files under a folder (``models/`` by default: the store is the models folder)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalObjects({str(self.root)!r})"

    def keys(self, prefix: str) -> list[str]:
        if not self.root.is_dir():
            return []
        found = []
        for path in self.root.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            if path.is_file() and key.startswith(prefix) and not path.name.startswith(".tmp-"):
                found.append(key)
        return sorted(found)

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.chmod(temporary, 0o644)
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(part in ("", ".", "..") for part in parts):
            raise OSError(f"invalid key {key!r}")
        return self.root.joinpath(*parts)
