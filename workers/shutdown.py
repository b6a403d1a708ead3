"""A stopping worker: running tasks finish within the grace period, or are handed back.

SIGTERM (``docker compose stop``, ``make run``'s supervisor, Kubernetes) starts
Celery's warm shutdown: the worker takes no new message and waits for its
running tasks. Two things bound that wait at ``LIFEBOAT_WORKER_GRACE_SECONDS``:

- batch parts, which can run for minutes, see the stop between two chunks and
  hand their message back at once (:class:`HandBack`; the part starts again from
  scratch on another worker, its temporary file discarded);
- a timer sends SIGQUIT once the grace period is over: Celery's cold shutdown
  cancels what still runs, and the Redis transport puts those unacknowledged
  messages back on their queues, so a redelivery never waits for the broker's
  visibility timeout. A prediction task's redelivered message finishes the jobs
  it had claimed (they are recorded under its task id).

Celery's own soft shutdown (``worker_soft_shutdown_timeout`` with
``REMAP_SIGTERM=SIGQUIT``) sleeps out the whole timeout in the signal handler
whenever any task is running, with the event loop stopped, so a busy worker
would always take the full grace period to stop and the finished tasks' results
would wait with it; the warm shutdown ends as soon as the running tasks are done.

The stop is seen by pool processes through one shared byte, mapped before the
pool forks (the task modules are imported by the worker's main process first).
"""

from __future__ import annotations

import logging
import mmap
import os
import signal
import threading

from celery import signals

from workers.celery_app import settings

log = logging.getLogger("lifeboat.worker")

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
    grace = settings.worker_grace_seconds
    log.warning(
        "worker stopping (%s): running tasks have %d s, batch parts go back to the queue now",
        sig,
        grace,
    )
    timer = threading.Timer(grace, _cold_shutdown, args=(grace,))
    timer.daemon = True
    timer.start()


def _cold_shutdown(grace: int) -> None:
    log.warning("grace period of %d s over: handing the tasks still running back", grace)
    os.kill(_main_pid, signal.SIGQUIT)
