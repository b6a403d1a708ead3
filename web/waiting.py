"""Long-polls: wake waiting requests the moment their job finishes.

One subscriber per web process listens on the job store's ``done`` channel and
sets the events of the requests waiting for that job; a request waits on its
event, not in a sleep loop. Under gunicorn's gevent workers the thread and the
events are greenlets.

The listener also knows which jobs this process wrote that have not finished since
(:meth:`CompletionWaiter.expect`, before the write, while subscribed): a long-poll of
such a job ("POST, then poll") waits without reading it first, as its done message
cannot be missed. Any loss of the subscription forgets them all. When such a job's done
message carries its finished record, the record is kept for ``RECENT_SECONDS``: a poll
arriving after the job finished is answered without a read (a finished record does not
change, but for its webhook's fields: a job with a callback URL is read).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis

from core.jobs import Job

log = logging.getLogger(__name__)
RECONNECT_DELAY = 0.5  # seconds between attempts to resubscribe after Redis went away
MAX_EXPECTED = 10_000  # unfinished jobs written here that are remembered (oldest go first)
MAX_RECENT = 1_000  # finished records of jobs written here that are kept (oldest go first)
RECENT_SECONDS = 10.0  # how long such a record answers polls


class CompletionWaiter:
    """Maps job ids to the events of the requests waiting for them."""

    def __init__(self, connect: Callable[[], redis.Redis], channel: str) -> None:
        self._connect = connect
        self._channel = channel
        self._waiters: dict[str, set[threading.Event]] = {}
        # the done messages of the jobs waited for: a finished record saves its read
        self._messages: dict[str, bytes] = {}
        # jobs written by this process, not finished since, and their tenants
        self._expected: dict[str, str] = {}
        # their done messages once finished: (message, tenant, when)
        self._recent: dict[str, tuple[bytes, str, float]] = {}
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid: int | None = None

    @contextmanager
    def watch(self, job_id: str) -> Iterator[threading.Event]:
        """An event set when ``job_id`` reaches a terminal status (register before reading)."""
        event = threading.Event()
        with self._lock:  # registered first: a listener that finds nobody waiting stops
            self._waiters.setdefault(job_id, set()).add(event)
        self._ensure_listening()
        try:
            yield event
        finally:
            with self._lock:
                events = self._waiters.get(job_id)
                if events is not None:
                    events.discard(event)
                    if not events:
                        del self._waiters[job_id]
                        self._messages.pop(job_id, None)

    def expect(self, job_id: str, tenant: str) -> None:
        """Note a job this process is about to write (nothing if not subscribed now: its
        done message could be missed); :meth:`forget` it if it was not written."""
        with self._lock:
            if not self._subscribed.is_set():
                return
            if len(self._expected) >= MAX_EXPECTED:
                del self._expected[next(iter(self._expected))]
            self._expected[job_id] = tenant

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._expected.pop(job_id, None)

    def expected_tenant(self, job_id: str) -> str | None:
        """The tenant of a job this process wrote and has seen no done message of since
        (and has been subscribed throughout), else None."""
        with self._lock:
            return self._expected.get(job_id)

    def recently_finished(self, job_id: str) -> tuple[Job, str] | None:
        """The finished record and tenant of a job this process wrote, from its done
        message in the last ``RECENT_SECONDS`` (None: read it)."""
        with self._lock:
            kept = self._recent.get(job_id)
        if kept is None or time.monotonic() - kept[2] > RECENT_SECONDS:
            return None
        try:
            job = Job.from_done_message(kept[0])[1]
        except (ValueError, KeyError, UnicodeDecodeError):
            return None
        if job is None or job.callback_url:  # its webhook's fields still change
            return None
        return job, kept[1]

    def finished(self, job_id: str) -> Job | None:
        """The finished record the done message of a job being waited for carried, if any
        (a job whose result is stored apart comes without: read it)."""
        with self._lock:
            data = self._messages.get(job_id)
        if data is None:
            return None
        try:
            return Job.from_done_message(data)[1]
        except (ValueError, KeyError, UnicodeDecodeError):  # read it instead
            log.warning("a done message of job %s could not be read", job_id, exc_info=True)
            return None

    def _ensure_listening(self) -> None:
        import os

        if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
            with self._lock:
                if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                    self._pid = os.getpid()
                    self._subscribed.clear()
                    self._thread = threading.Thread(
                        target=self._listen, name="job-done", daemon=True
                    )
                    self._thread.start()
        self._subscribed.wait(2.0)

    def _listen(self) -> None:
        failures = 0
        resubscribing = False  # an attempt before this one failed or ended
        while True:
            pubsub = None
            try:
                pubsub = self._connect().pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self._channel)
                self._subscribed.set()
                if resubscribing:  # a job that finished while nobody listened: re-read
                    self._wake_all()
                failures = 0
                for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._wake(message["data"])
                log.warning("job-done subscription ended; resubscribing")
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                failures += 1  # said once per outage, not every RECONNECT_DELAY
                level = logging.WARNING if failures == 1 else logging.DEBUG
                log.log(level, "job-done subscription lost (%s); resubscribing", exc)
            finally:
                resubscribing = True
                with self._lock:  # a done message may be missed from now on
                    self._subscribed.clear()
                    self._expected.clear()
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:
                        log.debug("closing a broken pubsub failed", exc_info=True)
            self._wake_all()  # waiters re-read the job now, and again once resubscribed
            with self._lock:
                if not self._waiters:  # nobody waits: the next watch() starts a listener
                    self._thread = None
                    return
            threading.Event().wait(RECONNECT_DELAY)

    def _wake(self, data: bytes) -> None:
        job_id = Job.done_message_job_id(data)
        with self._lock:
            tenant = self._expected.pop(job_id, None)
            if tenant is not None and b" " in data:  # written here; the record came along
                if len(self._recent) >= MAX_RECENT:
                    del self._recent[next(iter(self._recent))]
                self._recent[job_id] = (data, tenant, time.monotonic())
            events = list(self._waiters.get(job_id, ()))
            if events:
                self._messages[job_id] = data
        for event in events:
            event.set()

    def _wake_all(self) -> None:
        with self._lock:
            events = [e for group in self._waiters.values() for e in group]
        for event in events:
            event.set()
