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
one pipeline (kombu's publish batch): one round trip instead of two.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field

from celery import Celery
from kombu.exceptions import BatchPublishError, OperationalError

MAX_JOBS_PER_MESSAGE = 256  # a message never carries more job ids than this


@dataclass
class _Pending:
    job_id: str
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class CoalescingPublisher:
    """Sends the jobs that queue up while a publish is in flight as one task message."""

    def __init__(self, celery: Celery, task: str, linger: float = 0.0) -> None:
        self._celery = celery
        self._task = task
        self._linger = linger  # seconds to gather more jobs while requests arrive together
        self._together = False  # the last message carried more than one job
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def publish(self, job_id: str) -> None:
        """Return once the job's task is on the broker; raise what the broker raised."""
        self._ensure_running()
        pending = _Pending(job_id)
        self._queue.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error

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
            try:
                self._send([p.job_id for p in batch])
            except Exception as exc:  # noqa: BLE001 — handed to every waiting request
                error = exc
            for p in batch:
                p.error = error
                p.done.set()

    def _send(self, job_ids: list[str]) -> None:
        """One task message for ``job_ids`` and its event, in one round trip to Redis."""
        celery = self._celery
        with celery.producer_or_acquire() as producer:
            try:
                with producer.batch():
                    celery.send_task(self._task, args=[job_ids], producer=producer)
            except BatchPublishError as exc:  # a broker error, as for a publish on its own
                raise OperationalError(str(exc)) from exc
