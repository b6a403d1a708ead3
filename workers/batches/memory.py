"""Keeping a batch-scoring worker process's memory flat (glibc and Arrow allocator tuning).

glibc raises its mmap threshold each time a large block is freed, so the
buffers of every chunk end up on the heap, which then only grows; a fixed
threshold returns them to the OS at once, and ``malloc_trim`` after each chunk
gives back the free pages left inside the heap. Arrow's default allocator keeps
freed memory too; the system allocator does not. Elsewhere than glibc the
calls are skipped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc mallopt parameter
MMAP_THRESHOLD_BYTES = 128 * 1024  # larger allocations are mmapped, and unmapped when freed

_libc: ctypes.CDLL | None = None


def _glibc() -> ctypes.CDLL | None:
    global _libc  # noqa: PLW0603 — loaded once per process
    if _libc is None:
        name = ctypes.util.find_library("c")
        try:
            lib = ctypes.CDLL(name) if name else None
        except OSError:
            lib = None
        if lib is None or not hasattr(lib, "mallopt") or not hasattr(lib, "malloc_trim"):
            return None
        _libc = lib
    return _libc


def tune() -> None:
    """Fix glibc's mmap threshold and give Arrow the system allocator (once per process)."""
    libc = _glibc()
    if libc is not None:
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
    else:
        log.debug("not glibc: mallopt skipped")
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def trim() -> None:
    """Give the heap's free pages back to the OS."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
