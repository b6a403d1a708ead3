"""A byte range of an open binary file as a readable stream (standard library only: the
web's local storage reads ranges with it too, without loading numpy)."""

from __future__ import annotations

import io
from typing import BinaryIO


class RangeFile(io.RawIOBase):
    """At most ``left`` bytes of ``f`` from where it stands; closing it closes ``f``."""

    def __init__(self, f: BinaryIO, left: int) -> None:
        self._file = f
        self._left = left

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._left)
        if n <= 0:
            return 0
        got = self._file.readinto(memoryview(buffer)[:n])  # type: ignore[attr-defined]
        self._left -= got
        return got

    def close(self) -> None:
        self._file.close()
        super().close()
