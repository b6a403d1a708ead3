"""Publishing prediction tasks: jobs submitted together travel in one message.

Every message costs the broker, the worker's consumer and the task events a
fixed price, whatever it carries. A single publisher thread per web process
(a greenlet under gevent) takes every job queued since its last publish and
sends them as one ``predict`` task: a lone request is published at once, and
under load the jobs that arrive while a publish is in flight share the next
message; while requests arrive together, the publisher also waits
``LIFEBOAT_PUBLISH_LINGER_MS`` for more before it sends. Each request waits for
its own job's publish and learns whether it failed.

A message and its ``task-sent`` event (for Flower and celery-exporter) go to Redis in
one transaction: one round trip instead of two. Both are written by
:class:`core.task_messages.TaskMessages`, a copy of a message Celery wrote: 0.42x the
CPU of Celery's ``send_task`` (``python -m bench.task_messages``).

A job submitted while no other request is in progress in the web process and nothing
is being published (a lone request) need not wait for a publish of its own:
:meth:`CoalescingPublisher.lone_message` gives its message as Redis commands, which the
script that writes the job runs right after the record (``job_create.lua``): one round
trip for the record and its message, 0.3 ms less per job at one client
(``python -m bench turnaround``).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis

from core.broker import Command
from core.task_messages import TaskMessages

log = logging.getLogger(__name__)
MAX_JOBS_PER_MESSAGE = 256  # a message never carries more job ids than this


@dataclass
class _Pending:
    job_id: str
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class CoalescingPublisher:
    """Sends the jobs that queue up while a publish is in flight as one task message."""

    def __init__(self, messages: TaskMessages, client: redis.Redis, linger: float = 0.0) -> None:
        self._messages = messages
        self._client = client  # the broker's Redis
        self._linger = linger  # seconds to gather more jobs while requests arrive together
        self._together = False  # the last message carried more than one job
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._in_flight = 0  # publishes under way: the thread's, and lone messages' scripts

    def publish(self, job_id: str) -> None:
        """Return once the job's task is on the broker; raise what Redis raised
        (``redis.RedisError``)."""
        self._ensure_running()
        pending = _Pending(job_id)
        self._queue.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error

    @contextmanager
    def lone_message(self, job_id: str) -> Iterator[list[Command] | None]:
        """The Redis commands of a task message for ``job_id`` alone, for the caller to run
        with the job's record (``job_create.lua``), when nothing is being published or
        waits to be; else None (then :meth:`publish` after the record). Until the block
        ends, jobs submitted meanwhile gather for one message, as behind any publish.
        For a request alone in its process: under load, jobs must share messages."""
        with self._lock:
            lone = self._in_flight == 0 and self._queue.empty()
            if lone:
                self._in_flight += 1
        if not lone:
            yield None
            return
        try:
            try:
                commands = self._messages.commands([[job_id]])
            except Exception:  # publish() then, which says what went wrong
                log.warning("the message of job %s could not be built", job_id, exc_info=True)
                commands = None
            yield commands
        finally:
            with self._lock:
                self._in_flight -= 1

    def _ensure_running(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            # a lone request is published at once; requests arriving together wait a
            # moment for more (every message costs the consumer the same, whatever it holds)
            deadline = time.monotonic() + (self._linger if self._together else 0.0)
            while len(batch) < MAX_JOBS_PER_MESSAGE:
                try:
                    left = deadline - time.monotonic()
                    batch.append(
                        self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
            self._together = len(batch) > 1
            error: BaseException | None = None
            with self._lock:
                self._in_flight += 1
            try:
                self._send([p.job_id for p in batch])
            except Exception as exc:  # noqa: BLE001 — handed to every waiting request
                error = exc
            finally:
                with self._lock:
                    self._in_flight -= 1
            for p in batch:
                p.error = error
                p.done.set()

    def _send(self, job_ids: list[str]) -> None:
        """One task message for ``job_ids`` and its event, in one round trip to Redis: a
        transaction, so that a refused push (a full Redis) sends no event either."""
        with self._client.pipeline(transaction=True) as pipe:
            for name, key, payload in self._messages.commands([job_ids]):
                pipe.execute_command(name.upper(), key, payload)
            pipe.execute()
