"""Keeping a batch-scoring worker process's memory flat (glibc and Arrow allocator tuning).

glibc raises its mmap threshold each time a large block is freed, so the
buffers of every chunk end up on the heap, which then only grows; a fixed
threshold returns them to the OS at once, and ``malloc_trim`` after each chunk
gives back the free pages left inside the heap. The threshold is 1 MiB, not
glibc's initial 128 KiB, and the heap keeps up to 16 MiB free at its top between
``malloc_trim`` calls: the same process scores prediction jobs, whose few
hundred-kilobyte buffers (a 1000-prediction result, its Redis command) were
otherwise mapped and unmapped on every job, faulting in ~6 MB of fresh pages a
job (a third of its CPU time). Arrow's default allocator keeps
freed memory too; the system allocator does not. Elsewhere than glibc the
calls are skipped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # glibc mallopt parameters
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_BYTES = 1024 * 1024  # larger allocations are mmapped, and unmapped when freed
TRIM_THRESHOLD_BYTES = 16 * 1024 * 1024  # free bytes the heap's top keeps between trims

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
        libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    else:
        log.debug("not glibc: mallopt skipped")
    import pyarrow as pa

    pa.set_memory_pool(pa.system_memory_pool())


def trim() -> None:
    """Give the heap's free pages back to the OS."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
