"""Prediction jobs submitted together: written in one pipeline, queued in one message.

Against a real Redis and the real Celery app (``web.publishing``). The publisher's first
round is held open (its write waits on a gate) so that the jobs submitted meanwhile
gather for the next round, as requests do under load.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from celery import Celery

from core import scripts
from core.apikeys import Tenancy
from core.errors import BrokerUnavailable, QuotaExceeded
from core.jobs import Creation, JobStatus, JobStore, JobType, written
from core.keys import Keys
from core.queue import PREDICT_TASK, PREDICTIONS_QUEUE
from core.redis_errors import is_unavailable
from core.settings import Settings
from core.task_messages import TaskMessages
from devsupport import free_port, wait_until
from tests.web.messages import task_ids
from web.app import create_app
from web.publishing import CoalescingPublisher, Unpublished
from web.services import Services

pytestmark = pytest.mark.integration
ONE_JOB = Tenancy(max_active_jobs=1, max_active_batches=1, max_stored_bytes=1_000)


@pytest.fixture
def store(own_client: redis.Redis) -> JobStore:
    return JobStore(own_client, keys=Keys(), ttl=600)


@pytest.fixture
def publisher(own_celery: Celery, own_client: redis.Redis) -> CoalescingPublisher:
    return CoalescingPublisher(TaskMessages(own_celery, PREDICT_TASK), own_client)


def creation(store: JobStore, **kw: Any) -> Creation:
    return store.creation(JobType.PREDICTION, params={}, model_version="v", total=1, **kw)


class Submitted(threading.Thread):
    """One request's ``publisher.create``, in a thread: its reply or its error."""

    def __init__(self, publisher: CoalescingPublisher, job: Creation) -> None:
        super().__init__(daemon=True)
        self.publisher, self.job = publisher, job
        self.reply: list[Any] | None = None
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.reply = self.publisher.create(self.job)
        except BaseException as exc:  # noqa: BLE001 — the test reads it
            self.error = exc


@pytest.fixture
def rounds(publisher: CoalescingPublisher) -> Iterator[list[list[str]]]:
    """The job ids of each of the publisher's rounds; the first waits until the test has
    submitted the rest (then ``release`` it)."""
    seen: list[list[str]] = []
    gate = threading.Event()
    write = publisher._write

    def held(batch: list[Any]) -> bool:
        seen.append([p.creation.job_id for p in batch])
        if len(seen) == 1:
            gate.wait(10)
        return write(batch)

    publisher._write = held  # type: ignore[method-assign]
    publisher.release = gate.set  # type: ignore[attr-defined]
    yield seen
    gate.set()


def fill(client: redis.Redis) -> None:
    """Redis at its maxmemory (1 MB, noeviction): it refuses every write that needs memory."""
    client.config_set("maxmemory", "1mb")
    pipe = client.pipeline(transaction=False)
    for i in range(200):  # 2 MB into 1 MB
        pipe.set(f"filler:{i}", "x" * 10_000)
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        pipe.execute()


def together(
    publisher: CoalescingPublisher, first: Creation, rest: list[Creation], rounds: list
) -> list[Submitted]:
    """Submit ``first``, hold its round, submit ``rest`` meanwhile, release; all finished."""
    lead = Submitted(publisher, first)
    wait_until(lambda: len(rounds) == 1, 5, "the first round")
    others = [Submitted(publisher, job) for job in rest]
    wait_until(lambda: publisher._queue.qsize() == len(rest), 5, "the jobs queued behind it")
    publisher.release()  # type: ignore[attr-defined]
    for thread in (lead, *others):
        thread.join(10)
        assert not thread.is_alive()
    return [lead, *others]


def test_jobs_submitted_together_are_written_in_one_round_and_queued_in_one_message(
    publisher: CoalescingPublisher, store: JobStore, own_client: redis.Redis, rounds: list
) -> None:
    first, rest = creation(store), [creation(store) for _ in range(5)]
    done = together(publisher, first, rest, rounds)
    assert [t.error for t in done] == [None] * 6
    assert all(written(t.reply) for t in done)  # type: ignore[arg-type]
    assert rounds[0] == [first.job_id]
    assert sorted(rounds[1]) == sorted(job.job_id for job in rest)
    assert task_ids(own_client) == rounds  # one message a round, the round's jobs in it
    for job in (first, *rest):
        assert store.get(job.job_id).status is JobStatus.QUEUED
    pending = [i.decode() for i in own_client.lrange(store.pending_key, 0, -1)]
    assert pending == rounds[0] + rounds[1]


def test_a_round_whose_jobs_are_all_written_queues_its_message_in_the_same_round_trip(
    publisher: CoalescingPublisher, store: JobStore, own_client: redis.Redis, rounds: list
) -> None:
    first, rest = creation(store), [creation(store) for _ in range(3)]
    for script in (first.script.script, scripts.source("job_queue")):
        own_client.script_load(script)  # as after a process's first round
    sent: list[list[str]] = []
    publisher._send = sent.append  # type: ignore[method-assign]
    done = together(publisher, first, rest, rounds)
    assert [t.error for t in done] == [None] * 4
    assert sent == []  # no second round trip: the write pipeline queued each message
    assert task_ids(own_client) == rounds


def test_a_refused_or_replayed_job_of_a_round_is_in_no_message(
    publisher: CoalescingPublisher, store: JobStore, own_client: redis.Redis, rounds: list
) -> None:
    earlier, _ = store.create_job(
        JobType.PREDICTION, params={}, model_version="v", total=1, idempotency_key="k"
    )
    own_client.delete(PREDICTIONS_QUEUE)
    first = creation(store, tenant="acme", tenancy=ONE_JOB)
    over_quota = creation(store, tenant="acme", tenancy=ONE_JOB)
    replayed = creation(store, idempotency_key="k")
    plain = creation(store)
    done = together(publisher, first, [over_quota, replayed, plain], rounds)
    replies = {t.job.job_id: t.reply for t in done}
    assert [t.error for t in done] == [None] * 4
    with pytest.raises(QuotaExceeded):
        store.outcome(over_quota, replies[over_quota.job_id])  # type: ignore[arg-type]
    assert store.outcome(replayed, replies[replayed.job_id]) == (earlier, None)  # type: ignore[arg-type]
    assert store.outcome(plain, replies[plain.job_id]) == (plain.job_id, plain.record)  # type: ignore[arg-type]
    assert task_ids(own_client) == [[first.job_id], [plain.job_id]]
    for job in (over_quota, replayed):
        assert not own_client.exists(store.key(job.job_id))


def test_a_script_redis_has_lost_is_loaded_and_the_jobs_written_once(
    publisher: CoalescingPublisher, store: JobStore, own_client: redis.Redis
) -> None:
    job = creation(store)
    store.write(creation(store))  # the script is registered and loaded ...
    own_client.delete(PREDICTIONS_QUEUE)
    own_client.script_flush()  # ... then lost, as by a restarted Redis
    assert written(publisher.create(job))
    assert task_ids(own_client) == [[job.job_id]]
    assert own_client.lrange(store.pending_key, 0, -1).count(job.job_id.encode()) == 1


def test_a_full_redis_refuses_every_job_of_a_round_and_writes_nothing(
    publisher: CoalescingPublisher, store: JobStore, own_client: redis.Redis, rounds: list
) -> None:
    first, rest = creation(store), [creation(store) for _ in range(3)]
    fill(own_client)
    done = together(publisher, first, rest, rounds)
    assert all(t.error is not None and is_unavailable(t.error) for t in done)
    assert own_client.llen(PREDICTIONS_QUEUE) == 0
    for job in (first, *rest):
        assert not own_client.exists(store.key(job.job_id))


def test_an_unreachable_redis_is_the_error_of_each_job(own_celery: Celery) -> None:
    gone = redis.Redis(port=free_port(), socket_connect_timeout=1)
    publisher = CoalescingPublisher(TaskMessages(own_celery, PREDICT_TASK), gone)
    with pytest.raises(redis.ConnectionError):
        publisher.create(creation(JobStore(gone, keys=Keys())))


def test_written_jobs_whose_message_redis_refuses_are_reported_not_queued(
    publisher: CoalescingPublisher, store: JobStore, own_client: redis.Redis
) -> None:
    assert written(publisher.create(creation(store)))  # its message is Celery's first: made
    own_client.delete(PREDICTIONS_QUEUE)
    own_client.set(PREDICTIONS_QUEUE, "not a list")  # every push to the queue fails now
    job = creation(store)
    with pytest.raises(Unpublished) as caught:
        publisher.create(job)
    assert isinstance(caught.value.__cause__, redis.ResponseError)
    assert store.get(job.job_id).status is JobStatus.QUEUED  # written: the caller undoes it


def test_the_web_undoes_a_job_whose_message_a_full_redis_refused(own_redis: Any) -> None:
    """Redis fills up between writing the jobs and queueing their message: 503, and the
    job is removed (no half-made job is left)."""
    app = create_app(Settings(redis_url=own_redis.url))
    svc: Services = app.extensions["lifeboat"]
    client = svc.store.redis
    send = svc.predictions._send

    def fill_then_send(job_ids: list[str]) -> None:
        fill(client)
        send(job_ids)

    svc.predictions._send = fill_then_send  # type: ignore[method-assign]
    # the round's own pipeline cannot carry its message: it is queued after the records
    svc.predictions._message = lambda creations: None  # type: ignore[method-assign]
    job = svc.store_for(JobType.PREDICTION).creation(
        JobType.PREDICTION, params={}, model_version="v", total=1
    )
    svc.in_progress = 2  # not alone: the job goes through the publisher's round
    with pytest.raises(BrokerUnavailable):
        svc.create_prediction(job)
    assert not client.exists(svc.store.key(job.job_id))
    assert client.llen(svc.store.pending_key) == 0
