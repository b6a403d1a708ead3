"""Keep-alive connections spread evenly over gunicorn's web processes.

Every web process watches the one listening socket; the kernel wakes them all for a new
connection and the first to call ``accept`` keeps it for the connection's life (a
keep-alive client, the SDK's session, a proxy's pool). Which one is first is luck: 32
clients connecting at once split 28/4 or 31/1 between two processes as often as 16/16
(``ss`` during ``python -m bench turnaround``), and the process holding most of them
is the bottleneck while the other idles: ``POST ?wait`` at 32 clients ran ~950 jobs/s
split 28/4 against ~1,100 split 18/14, with more CPU per job (smaller batches in the
process with few clients).

:class:`BalancedStreamServer` makes the process holding fewer connections first: a
process that holds ``n`` waits ``n x DEFER_PER_CONNECTION`` (at most ``MAX_DEFER``)
before it accepts, so that an emptier process woken by the same connection takes it. A
process alone on the socket takes it after that wait; nothing is refused or lost. Used
only when gunicorn runs more than one worker (``web/gunicorn_conf.py``).
"""

from __future__ import annotations

from typing import Any

from gevent.server import StreamServer
from gunicorn.workers import ggevent

DEFER_PER_CONNECTION = 0.0002  # seconds an accept waits per connection the process holds
MAX_DEFER = 0.01  # ... at most: a new connection is never held longer than this


def defer_for(held: int) -> float:
    """Seconds a process holding ``held`` connections waits before it accepts one."""
    return min(held * DEFER_PER_CONNECTION, MAX_DEFER)


class BalancedStreamServer(StreamServer):
    """A gevent stream server that lets a process holding fewer connections accept first."""

    def held(self) -> int:
        """Connections this process serves now (one greenlet each, in its pool)."""
        pool: Any = self.pool
        return 0 if pool is None else pool.size - pool.free_count()

    def _do_read(self) -> None:
        wait = defer_for(self.held())
        if wait <= 0:
            super()._do_read()
            return
        self.stop_accepting()  # until the wait is over: a watcher would fire again at once
        self._timer = self.loop.timer(wait)
        self._timer.start(self._accept_after_wait)

    def _accept_after_wait(self) -> None:
        self._timer.close()
        self._timer = None
        if not self.started:
            return
        super()._do_read()  # the connection, unless an emptier process has taken it
        # unless a failed accept set its own back-off timer, or the pool is full (its
        # release starts accepting again)
        if self._timer is None and not self.full():
            self.start_accepting()


def install() -> None:
    """Make gunicorn's gevent workers serve with :class:`BalancedStreamServer`."""
    ggevent.StreamServer = BalancedStreamServer  # type: ignore[misc]
