"""redis-py's "anything left to read?" check, without gevent's poll emulation.

redis-py checks, each time a connection leaves its pool, that nothing is left to read
on it: a ``poll()`` that does not wait (``redis._parsers.hiredis._socket_can_read``,
timeout 0). Under gevent's monkey-patching that poll is gevent's emulation (a watcher
per descriptor, a timeout, a round of the hub): 40 µs of the 80 µs a ``PING`` through
the pool costs in a gevent process (``python -m web.readiness`` measures it). A check
that does not wait cannot block the hub, so :func:`install` makes it the system's poll;
a check that waits keeps gevent's. Installed by ``web/gunicorn_conf.py`` in each gevent
gunicorn worker.
"""

from __future__ import annotations

import logging
import select
import time
from types import SimpleNamespace
from typing import Any

log = logging.getLogger(__name__)


class _Poll:
    """``select.poll()`` that polls with the system's poll when it does not wait."""

    def __init__(self, native: Any, cooperative: Any) -> None:
        self._native, self._cooperative = native, cooperative
        self._registered: list[tuple[Any, int]] = []

    def register(self, fd: Any, eventmask: int = select.POLLIN) -> None:
        self._registered.append((fd, eventmask))

    def poll(self, timeout: float | None = None) -> list[tuple[int, int]]:
        poller = (self._native if timeout == 0 else self._cooperative)()
        for fd, mask in self._registered:
            poller.register(fd, mask)
        return poller.poll(timeout)


def install() -> bool:
    """Point redis-py's hiredis readiness checks at :class:`_Poll`; False (logged) if this
    redis-py has no such check or gevent has not patched ``select``."""
    from gevent import monkey
    from redis._parsers import hiredis

    module = getattr(hiredis, "select", None)
    if module is not select or not monkey.is_object_patched("select", "poll"):
        log.warning("redis-py's readiness check left as it is (not the layout expected)")
        return False
    native, cooperative = monkey.get_original("select", "poll"), select.poll
    shim = SimpleNamespace(**{k: getattr(select, k) for k in dir(select) if k.isupper()})
    shim.poll = lambda: _Poll(native, cooperative)
    hiredis.select = shim  # type: ignore[attr-defined]
    return True


def main() -> None:  # pragma: no cover — a measure, printed
    from gevent import monkey

    monkey.patch_all()
    import redis

    from core.settings import get_settings

    url = get_settings().redis_url
    client = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(url))

    def per_ping() -> float:
        for _ in range(300):
            client.ping()
        started = time.perf_counter()
        for _ in range(3000):
            client.ping()
        return (time.perf_counter() - started) / 3000 * 1e6

    before = per_ping()
    install()
    print(f"PING through a pool under gevent: {before:.0f} µs, then {per_ping():.0f} µs")


if __name__ == "__main__":
    main()
