"""The worker's consumer: its task events go to Redis from a thread of their own.

Celery buffers a worker's task events (``task-received``, ``-started``, ``-succeeded``,
for Flower and celery-exporter) and flushes them at the top of the event loop's next
iteration: one ``PUBLISH`` the loop waits for, before it polls again. A message that
has just arrived is written to its pool process only in that poll, so every job waited
one publish round trip (its ``task-received`` event) before a pool process saw it, and
the loop spent that wait on every event of every task.

Here the loop only signals a flusher thread, which publishes what is buffered; the
loop goes on at once. Celery's dispatcher is made for this: its flush copies the buffer
under its own lock and leaves what other threads append meanwhile for the next flush.
Events keep their order (one thread publishes them, in the order they were buffered).
A flush that fails (Redis away) keeps the events in the dispatcher's outbound buffer,
for the next flush, as Celery's own does. Named by ``worker_consumer`` in
``workers/celery_app.py``.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery.worker.consumer import Consumer as CeleryConsumer

log = logging.getLogger(__name__)
EVENTS_LINGER = 0.002  # seconds an event may wait for others to share its publish


class Consumer(CeleryConsumer):
    """Celery's consumer, whose buffered task events a thread publishes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._events_due = threading.Event()
        self._flusher: threading.Thread | None = None
        self._flusher_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def on_send_event_buffered(self) -> None:
        self._ensure_flusher()
        self._events_due.set()

    def _ensure_flusher(self) -> None:
        if self._flusher is not None and self._flusher.is_alive():
            return
        with self._flusher_lock:
            if self._flusher is None or not self._flusher.is_alive():
                self._flusher = threading.Thread(
                    target=self._flush_forever, name="task-events", daemon=True
                )
                self._flusher.start()

    def _flush_forever(self) -> None:
        while True:
            self._events_due.wait()
            time.sleep(EVENTS_LINGER)  # the events of the tasks around go in the same publish
            self._events_due.clear()  # what is buffered after this is flushed next time
            try:
                self._flush_events()
            except Exception:  # the thread must outlive one failed flush
                log.warning("task events could not be published", exc_info=True)
