"""Keep-alive connections spread evenly over gunicorn's web processes.

Every web process watches the one listening socket; the kernel wakes them all for a new
connection and the first to call ``accept`` keeps it for the connection's life (a
keep-alive client, the SDK's session, a proxy's pool). Which one is first is luck: 32
clients connecting at once split 24/8 to 32/0 between two processes in 10 of 12 tries
(``ss`` during ``python -m bench turnaround``), and the process holding most of them is
the bottleneck while the other idles: ``POST ?wait`` at 32 clients ran ~950 jobs/s
split 28/4 against ~1,100 split 18/14, with more CPU per job (smaller batches in the
process with few clients).

The processes write how many connections each holds on a :class:`Board` (memory the
arbiter maps before it forks them). A process holding more than another lets the new
connection go for ``DEFER`` (the emptier one, woken by the same connection, takes it),
then takes it itself if it is still there; the emptiest accepts at once, so nothing is
refused or lost: 16/16 in 11 of 12 tries (the other while the second process was still
starting), and 200 connections opened at once were answered in 92-137 ms against
94-112 ms before.
gunicorn's ``reuse_port`` (a socket per process, the kernel choosing by a hash of the
addresses) split 23/9 to 16/16, and resets the connections waiting on a process's
socket when it stops. Used only with more than one worker (``web/gunicorn_conf.py``).
"""

from __future__ import annotations

import mmap
from typing import Any

from gevent.server import StreamServer
from gunicorn.workers import ggevent

DEFER = 0.001  # seconds a process holding more connections than another lets one go
SLOTS = 64  # web processes a board has room for (a process without a slot is not balanced)
_NOBODY = -1


class Board:
    """How many connections each web process holds, shared by all of them: anonymous
    shared memory, made by the arbiter before it forks them. A slot each, from
    :meth:`claim` (in the arbiter) to :meth:`release` (when the process has exited)."""

    def __init__(self, slots: int = SLOTS) -> None:
        self._memory = mmap.mmap(-1, 8 * slots)  # MAP_SHARED: forked processes see writes
        self._held = memoryview(self._memory).cast("q")
        for slot in range(slots):
            self._held[slot] = _NOBODY

    def claim(self, taken: set[int]) -> int | None:
        """A free slot for a new process (``taken``: the live processes' slots); it counts
        once the process first writes it (as it starts accepting), not while it boots."""
        for slot in range(len(self._held)):
            if slot not in taken:
                self._held[slot] = _NOBODY
                return slot
        return None

    def release(self, slot: int) -> None:
        self._held[slot] = _NOBODY

    def write(self, slot: int, held: int) -> None:
        self._held[slot] = held

    def fewest_elsewhere(self, slot: int) -> int | None:
        """The fewest connections another live process holds (None: no other)."""
        others = [n for i, n in enumerate(self._held.tolist()) if i != slot and n != _NOBODY]
        return min(others, default=None)


def should_defer(held: int, fewest_elsewhere: int | None) -> bool:
    """Whether a process holding ``held`` connections lets a new one go first."""
    return fewest_elsewhere is not None and held > fewest_elsewhere


class BalancedStreamServer(StreamServer):
    """A gevent stream server that lets the process holding fewest connections accept."""

    board: Board
    slot: int

    def held(self) -> int:
        """Connections this process serves now (one greenlet each, in its pool)."""
        pool: Any = self.pool
        return 0 if pool is None else pool.size - pool.free_count()

    def _start_accepting_if_started(self, _event: Any = None) -> None:
        self.board.write(self.slot, self.held())  # called as each connection ends
        super()._start_accepting_if_started(_event)

    def _do_read(self) -> None:
        held = self.held()
        self.board.write(self.slot, held)
        if not should_defer(held, self.board.fewest_elsewhere(self.slot)):
            self._accept()
            return
        self.stop_accepting()  # until the wait is over: a watcher would fire again at once
        self._timer = self.loop.timer(DEFER)
        self._timer.start(self._accept_after_wait)

    def _accept(self) -> None:
        super()._do_read()
        self.board.write(self.slot, self.held())

    def _accept_after_wait(self) -> None:
        self._timer.close()
        self._timer = None
        if not self.started:
            return
        self._accept()  # the connection, unless an emptier process has taken it
        # unless a failed accept set its own back-off timer, or the pool is full (its
        # release starts accepting again)
        if self._timer is None and not self.full():
            self.start_accepting()


def install(board: Board, slot: int | None) -> None:
    """Make this gunicorn gevent worker serve with :class:`BalancedStreamServer`, writing
    on ``board`` at ``slot`` (nothing changes without a slot)."""
    if slot is None:
        return
    BalancedStreamServer.board = board
    BalancedStreamServer.slot = slot
    ggevent.StreamServer = BalancedStreamServer  # type: ignore[misc]
