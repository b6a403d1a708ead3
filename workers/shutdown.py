"""A stopping worker: running tasks finish within the grace period, or are handed back.

SIGTERM (``docker compose stop``, ``make run``'s supervisor, Kubernetes) starts
Celery's warm shutdown: the worker takes no new message and waits for its
running tasks. Two things bound that wait at ``LIFEBOAT_WORKER_GRACE_SECONDS``:

- batch parts, which can run for minutes, see the stop between two chunks and
  hand their message back at once (:class:`HandBack`; the part starts again from
  scratch on another worker, its temporary file discarded);
- a timer sends SIGQUIT ``HANDBACK_MARGIN`` seconds before the grace period is
  over (the supervisor, compose and Kubernetes kill at its end): Celery's cold shutdown
  cancels what still runs, and the Redis transport puts those unacknowledged
  messages back on their queues, so a redelivery never waits for the broker's
  visibility timeout. A prediction task's redelivered message finishes the jobs
  it had claimed (they are recorded under its task id). A pool process still
  there two seconds later is killed (see ``_cold_shutdown``); its message goes
  back too.

Celery's own soft shutdown (``worker_soft_shutdown_timeout`` with
``REMAP_SIGTERM=SIGQUIT``) sleeps out the whole timeout in the signal handler
whenever any task is running, with the event loop stopped, so a busy worker
would always take the full grace period to stop and the finished tasks' results
would wait with it; the warm shutdown ends as soon as the running tasks are done.

The stop is seen by pool processes through one shared byte, mapped before the
pool forks (the task modules are imported by the worker's main process first).
"""

from __future__ import annotations

import contextlib
import logging
import mmap
import os
import signal
import threading
import time

import psutil
from celery import signals

from workers.celery_app import settings

log = logging.getLogger("lifeboat.worker")

# seconds of the grace period left for the cold shutdown (it cancels the running tasks and
# puts their messages back on the queue, ~2 s measured) before the worker is killed
HANDBACK_MARGIN = 5.0
POOL_KILL_SECONDS = 2.0  # after the cold shutdown began, pool processes still there are killed
_stopping = mmap.mmap(-1, 1)  # anonymous and shared: pool children forked later see writes
_main_pid = os.getpid()


class HandBack(Exception):
    """This worker is stopping: the task puts its message back on the queue and ends."""


def stopping() -> bool:
    """Whether the worker this process belongs to has been told to stop."""
    return _stopping[0] == 1


@signals.worker_shutting_down.connect
def bound_the_shutdown(sig: str = "", how: str = "", **_: object) -> None:
    """In the main process, on SIGTERM or SIGINT: tell the pool, and cap the wait."""
    if os.getpid() != _main_pid or stopping():
        return
    _stopping[0] = 1
    if how != "Warm":  # a cold shutdown cancels and hands back by itself
        return
    after = handback_after(settings.worker_grace_seconds)
    log.warning(
        "worker stopping (%s): running tasks have %.0f s, batch parts go back to the queue now",
        sig,
        after,
    )
    timer = threading.Timer(after, _cold_shutdown, args=(after,))
    timer.daemon = True
    timer.start()


def handback_after(grace: float) -> float:
    """Seconds after SIGTERM at which running tasks are handed back: the cold shutdown
    that does it must end before whoever sent SIGTERM kills the worker, at ``grace``."""
    return max(grace - HANDBACK_MARGIN, grace / 2)


def _cold_shutdown(after: float) -> None:
    log.warning("grace period over after %.0f s: handing the tasks still running back", after)
    os.kill(_main_pid, signal.SIGQUIT)
    # A pool process whose last result the main process never read (it stopped reading
    # when the warm shutdown began) waits up to 30 s for it to be read, and the cold
    # shutdown does not cancel it (Celery never saw the task start): it is killed, and its
    # unacknowledged message goes back to the queue with the others.
    time.sleep(POOL_KILL_SECONDS)
    for child in psutil.Process(_main_pid).children():
        log.warning("pool process %d still there: killed", child.pid)
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
