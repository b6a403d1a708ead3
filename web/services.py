"""What the web's views share, built once in the application factory."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

import redis
from celery import Celery
from flask import current_app
from kombu.exceptions import OperationalError

from core import stores
from core.errors import BrokerUnavailable
from core.jobs import Creation, Job, JobStore, JobType, guard
from core.queue import DELIVER_WEBHOOK_TASK
from core.redis_errors import is_unavailable
from core.settings import Settings
from web import admission
from web.catalog import Catalog
from web.publishing import CoalescingPublisher, Unpublished
from web.waiting import CompletionWaiter

log = logging.getLogger(__name__)
QUEUE_UNREACHABLE = "the queue cannot be reached; retry later"


@dataclass
class Services:
    settings: Settings
    store: JobStore
    celery: Celery
    waiter: CompletionWaiter
    catalog: Catalog
    predictions: CoalescingPublisher
    in_progress: int = 0  # requests this process is working on or holding (long-polls too)
    _typed_stores: dict[JobType, JobStore] = field(default_factory=dict, init=False, repr=False)

    def store_for(self, job_type: JobType) -> JobStore:
        """The job store that creates and cancels jobs of this type with the type's TTL."""
        store = self._typed_stores.get(job_type)
        if store is None:
            store = stores.job_store(
                self.settings, self.store.redis, job_type, self.publish_webhooks
            )
            store = self._typed_stores.setdefault(job_type, store)
        return store

    def create_prediction(
        self, creation: Creation, idempotency_key: str | None = None
    ) -> tuple[str, Job | None]:
        """Write a prediction job and queue its task (:meth:`JobStore.create_job`'s answer):
        with the jobs submitted together, in shared round trips and one message
        (``web.publishing``); alone in this process, by the one script that writes it."""
        store = self.store_for(JobType.PREDICTION)
        alone = self.in_progress == 1  # under load, jobs must share messages
        with self.predictions.lone_message(creation.job_id) if alone else nullcontext() as message:
            if message is not None:
                return store.outcome(creation, store.write(creation, message))
        try:
            return store.outcome(creation, guard(self.predictions.create, creation))
        except Unpublished as exc:
            self._undo(creation.job_id, idempotency_key)
            if exc.__cause__ is not None and is_unavailable(exc.__cause__):
                raise BrokerUnavailable(QUEUE_UNREACHABLE) from exc.__cause__
            raise  # a bug: the message could not be made

    def publish(self, task: str, job_id: str, idempotency_key: str | None = None) -> None:
        """Queue the task of a job already written (not a prediction: those are queued
        with their records); undo the job if the broker refuses."""
        try:
            self.celery.send_task(task, args=[job_id])
        except (OperationalError, OSError, redis.RedisError) as exc:
            self._undo(job_id, idempotency_key)
            raise BrokerUnavailable(QUEUE_UNREACHABLE) from exc

    def _undo(self, job_id: str, idempotency_key: str | None) -> None:
        """Remove a job whose task was not queued: no half-made job is left, no quota
        share is kept."""
        try:
            self.store.discard(job_id, idempotency_key)
        except Exception:  # Redis is gone too: its queued lease publishes the job later
            log.warning("job %s, not queued, could not be removed", job_id, exc_info=True)

    def publish_webhooks(self, job_ids: list[str]) -> None:
        """Queue the webhook deliveries of jobs the web finished (cancelled); a broker error
        is logged: the cancel has happened either way."""
        for job_id in job_ids:
            try:
                self.celery.send_task(DELIVER_WEBHOOK_TASK, args=[job_id])
            except (OperationalError, OSError):
                log.exception("the webhook of job %s could not be queued", job_id)

    @contextmanager
    def watching(self, job_id: str, seconds: float) -> Iterator[threading.Event | None]:
        """Register a wait for a job about to be written (None without ``seconds``).

        Registered before the record exists: a queued prediction job can be claimed by
        another task (micro-batching) and finish before its own message is published."""
        if seconds <= 0:
            yield None
            return
        with self.waiter.watch(job_id) as done:
            yield done

    def wait_written(self, record: Job, seconds: float, done: threading.Event | None) -> Job:
        """Wait up to ``seconds`` for a job just written and queued (``record``, as written)
        on ``done`` (from :meth:`watching`, entered before the job was written): no
        completion can be missed, so the record is the job's state until a wake-up (no
        read first)."""
        if done is None or seconds <= 0:
            return record
        with admission.idle():  # waiting, it gives its key's place in the web up
            return self._until_terminal(record, done, time.monotonic() + seconds)

    def read_and_wait(
        self,
        job_id: str,
        seconds: float,
        check: Callable[[Job], Job],
        may_see: Callable[[str], bool],
    ) -> Job:
        """The job (``check`` sees it first and may refuse it: another tenant's job is never
        waited for), as soon as it is terminal or after ``seconds``. The wait is registered
        before the one read, so a job still running costs a read now and one when it ends;
        a job this process wrote and has not seen finish (``may_see``: its tenant's is the
        caller's) is not read before the wait, nor after it finished (its done message's
        record is kept a while)."""
        recent = self.waiter.recently_finished(job_id)
        if recent is not None and may_see(recent[1] or None):  # as the record reads it
            return recent[0]
        if seconds <= 0:
            return check(self.store.get(job_id))
        with self.waiter.watch(job_id) as done:
            deadline = time.monotonic() + seconds
            tenant = self.waiter.expected_tenant(job_id)
            if tenant is not None and may_see(tenant or None):  # as the record reads it
                with admission.idle():
                    done.wait(seconds)
                done.clear()
                job = self.waiter.finished(job_id) or check(self.store.get(job_id))
            else:
                job = check(self.store.get(job_id))
            with admission.idle():  # waiting, it gives its key's place in the web up
                return self._until_terminal(job, done, deadline)

    def wait(self, job_id: str, seconds: float) -> Job:
        """The job, as soon as it is terminal or after ``seconds``, whichever comes first."""
        with self.waiter.watch(job_id) as done, admission.idle():
            deadline = time.monotonic() + seconds
            return self._until_terminal(self.store.get(job_id), done, deadline)

    def _until_terminal(self, job: Job, done: threading.Event, deadline: float) -> Job:
        while not job.status.terminal and (left := deadline - time.monotonic()) > 0:
            done.wait(left)
            done.clear()
            # the done message carries the finished record when it is small: no read then
            job = self.waiter.finished(job.id) or self.store.get(job.id)
        return job


def services() -> Services:
    return current_app.extensions["lifeboat"]
