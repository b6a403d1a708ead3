"""A worker says which queues it consumes, so that the backlog per worker can be computed.

From the moment it is ready, a worker's main process announces its queues every
``backlog.ANNOUNCE_SECONDS`` from a thread of its own (:func:`core.backlog.announce`);
when it starts to stop (SIGTERM) it withdraws at once: it takes no new message
from then on, so it no longer counts as capacity. A worker killed without a
word stops counting ``backlog.LIVE_SECONDS`` after its last announcement.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import redis
from celery import signals

from core import backlog, stores
from workers.celery_app import app, settings

log = logging.getLogger("lifeboat.worker")
REDIS_TIMEOUT = 5.0  # seconds an announcement may take before it is given up (the next one retries)
# seconds the withdrawal may take: it runs in the SIGTERM handler (after shutdown's, which
# starts the grace timer); a Redis out of reach then only delays the stop this long
WITHDRAW_TIMEOUT = 1.0

_stop = threading.Event()
_lock = threading.Lock()  # no announcement lands after the withdrawal
_announcing: dict[str, Any] = {}


def _queues() -> list[str]:
    return list(app.amqp.queues.consume_from or app.amqp.queues)


@signals.worker_ready.connect
def start_announcing(sender: Any = None, **_: object) -> None:
    """Announce this worker's queues now and every ``ANNOUNCE_SECONDS`` until it stops."""
    name = getattr(sender, "hostname", None) or app.conf.get("worker_name") or "worker"
    client = redis.Redis.from_url(
        settings.redis_url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
    )
    keys, queues = stores.keys(settings), _queues()
    quick = redis.Redis.from_url(
        settings.redis_url, socket_timeout=WITHDRAW_TIMEOUT, socket_connect_timeout=WITHDRAW_TIMEOUT
    )
    _announcing.update(name=name, client=quick, keys=keys, queues=queues)

    def run() -> None:
        while True:
            try:
                with _lock:
                    if _stop.is_set():
                        return
                    backlog.announce(client, keys, name, queues)
            except redis.RedisError as exc:  # the next announcement tries again
                log.warning("could not announce the queues of %s: %s", name, exc)
            if _stop.wait(backlog.ANNOUNCE_SECONDS):
                return

    threading.Thread(target=run, name="announce queues", daemon=True).start()
    log.info("worker %s announces its queues: %s", name, ", ".join(queues))


@signals.worker_shutting_down.connect
def withdraw(**_: object) -> None:
    """The worker is stopping: it no longer counts as a consumer of its queues."""
    with _lock:
        if _stop.is_set() or not _announcing:
            return
        _stop.set()
    try:
        backlog.withdraw(
            _announcing["client"], _announcing["keys"], _announcing["name"], _announcing["queues"]
        )
    except redis.RedisError as exc:  # it stops counting after LIVE_SECONDS all the same
        log.warning("could not withdraw the queues of %s: %s", _announcing["name"], exc)
