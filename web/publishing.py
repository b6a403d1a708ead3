"""Writing and publishing prediction jobs: jobs submitted together share round trips
and one task message.

Every message costs the broker, the worker's consumer and the task events a fixed
price, whatever it carries, and every round trip to Redis costs a web process ~120 µs
of CPU under gevent (~20 µs a command in a pipeline of 16; measured 2026-12-03). A
single publisher thread per web process (a greenlet under gevent) takes every job
submitted since its last round: it writes their records in one pipeline
(``job_create.lua`` each, atomic each) that ends with one ``predict`` task for them and
its ``task-sent`` event (for Flower and celery-exporter), queued by ``job_queue.lua``
only if every record was written: one round trip a round. A round with a job not
written (a quota, an idempotency key, a script Redis lost) queues a message for the jobs
written after, in one transaction. A lone request's job goes at once; under load, the
jobs that arrive while a round is under way share the next; while requests arrive
together, the publisher also waits ``LIFEBOAT_PUBLISH_LINGER_MS`` for more. Each
request waits for its own job's reply. A job refused (a quota) or replayed (an
idempotency key) is in no message; a job written whose message Redis refused is
reported to its request (:class:`Unpublished`), which undoes it. Messages are written
by :class:`core.task_messages.TaskMessages`, a copy of a message Celery wrote: 0.42x
the CPU of Celery's ``send_task`` (``python -m bench.task_messages``).

A job submitted while no other request is in progress in the web process and nothing
is being published (a lone request) need not wait for the publisher:
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
from typing import Any

import redis

from core import scripts
from core.broker import Command
from core.jobs import Creation, written
from core.task_messages import TaskMessages

log = logging.getLogger(__name__)
MAX_JOBS_PER_MESSAGE = 256  # a message never carries more job ids than this


class Unpublished(Exception):
    """The job was written but Redis refused its task message (``__cause__`` says why):
    the caller undoes the job."""


@dataclass
class _Pending:
    creation: Creation
    done: threading.Event = field(default_factory=threading.Event)
    reply: list[Any] | None = None  # job_create.lua's
    error: BaseException | None = None  # nothing was written
    unpublished: BaseException | None = None  # written, its message refused


class CoalescingPublisher:
    """Writes the jobs that queue up while a round is under way with one pipeline, and
    sends those written as one task message."""

    def __init__(self, messages: TaskMessages, client: redis.Redis, linger: float = 0.0) -> None:
        self._messages = messages
        self._client = client  # the broker's Redis, which holds the job records too
        self._queue_script = client.register_script(scripts.source("job_queue"))
        self._linger = linger  # seconds to gather more jobs while requests arrive together
        self._together = False  # the last round carried more than one job
        self._queue: queue.SimpleQueue[_Pending] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._in_flight = 0  # rounds under way: the thread's, and lone messages' scripts

    def create(self, creation: Creation) -> list[Any]:
        """Write the job and queue its task; ``job_create.lua``'s reply once both are done
        (a job not written is in no message). Raises what Redis raised writing it (nothing
        written), or :class:`Unpublished` (written, not queued)."""
        self._ensure_running()
        pending = _Pending(creation)
        self._queue.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        if pending.unpublished is not None:
            raise Unpublished(creation.job_id) from pending.unpublished
        assert pending.reply is not None  # set with done, unless an error was
        return pending.reply

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
            # a lone request is sent at once; requests arriving together wait a moment
            # for more (every message costs the consumer the same, whatever it holds)
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
            with self._lock:
                self._in_flight += 1
            try:
                self._round(batch)
            finally:
                with self._lock:
                    self._in_flight -= 1
                for p in batch:
                    p.done.set()

    def _round(self, batch: list[_Pending]) -> None:
        """Write the batch's jobs and queue one message for them; if a job was not written,
        queue one message for those written."""
        queued = False
        try:
            queued = self._write(batch)
        except Exception as exc:  # noqa: BLE001 — handed to each request not answered yet
            for p in batch:  # a retry's failure leaves the first attempt's jobs written
                if p.reply is None and p.error is None:
                    p.error = exc
        to_queue = [p for p in batch if p.reply is not None and written(p.reply)]
        if queued or not to_queue:
            return
        try:
            self._send([p.creation.job_id for p in to_queue])
        except Exception as exc:  # noqa: BLE001 — handed to the requests whose jobs were written
            for p in to_queue:
                p.unpublished = exc

    def _write(self, batch: list[_Pending]) -> bool:
        """Each job's reply (or its error) from one pipeline, which queues the batch's
        message if every job was written; whether it did. The scripts Redis has lost
        (restarted) are loaded and those jobs written again, once (their message is then
        the caller's to queue)."""
        todo = batch
        message = self._message([p.creation for p in batch])
        queued = False
        for attempt in range(2):
            with self._client.pipeline(transaction=False) as pipe:
                for p in todo:
                    pipe.execute_command(*p.creation.command())
                if message is not None and attempt == 0:
                    pipe.execute_command(*message)
                replies = pipe.execute(raise_on_error=False)
            if message is not None and attempt == 0:
                queued = self._queued(replies.pop())
            lost = []
            for p, reply in zip(todo, replies, strict=True):
                if isinstance(reply, redis.exceptions.NoScriptError) and attempt == 0:
                    lost.append(p)
                elif isinstance(reply, Exception):
                    p.error = reply
                else:
                    p.reply = reply
            if not lost:
                return queued
            for script in {id(p.creation.script): p.creation.script for p in lost}.values():
                self._client.script_load(script.script)
            todo = lost
        return queued

    def _message(self, creations: list[Creation]) -> tuple[Any, ...] | None:
        """``job_queue.lua``'s call queueing one message for ``creations`` if every record
        is written (None if the message could not be built: then it is queued after)."""
        try:
            commands = self._messages.commands([[c.job_id for c in creations]])
        except Exception:  # _send then, which says what went wrong
            log.warning(
                "the message of %d job(s) could not be built", len(creations), exc_info=True
            )
            return None
        keys = [c.record_key for c in creations]
        args = [part for command in commands for part in command]
        return ("EVALSHA", self._queue_script.sha, len(keys), *keys, *args)

    def _queued(self, reply: Any) -> bool:
        """Whether ``job_queue.lua`` queued the message (a lost script is loaded again)."""
        if isinstance(reply, redis.exceptions.NoScriptError):
            self._client.script_load(self._queue_script.script)
        elif isinstance(reply, Exception):  # _send queues it, or reports why it cannot
            log.debug("the message carried by a round was not queued: %s", reply)
        return reply == 1

    def _send(self, job_ids: list[str]) -> None:
        """One task message for ``job_ids`` and its event, in one round trip to Redis: a
        transaction, so that a refused push (a full Redis) sends no event either."""
        with self._client.pipeline(transaction=True) as pipe:
            for name, key, payload in self._messages.commands([job_ids]):
                pipe.execute_command(name.upper(), key, payload)
            pipe.execute()
