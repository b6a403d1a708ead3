"""A lone job's task message, queued by the script that writes the job (one round trip).

Against a real Redis and the real Celery app: ``core.task_messages`` builds the message
(from one Celery wrote), and ``job_create.lua`` queues it once the record is written, or
not at all.
"""

from __future__ import annotations

import json
import threading

import pytest
import redis
from celery import Celery

from core.apikeys import Tenancy
from core.errors import QuotaExceeded
from core.jobs import JobStatus, JobStore, JobType
from core.keys import Keys
from core.queue import PREDICT_TASK, PREDICTIONS_QUEUE
from core.task_messages import TaskMessages
from devsupport import wait_until
from tests.web.messages import task_ids
from web.publishing import CoalescingPublisher

pytestmark = pytest.mark.integration
LIMITS = Tenancy(max_active_jobs=1, max_active_batches=1, max_stored_bytes=1_000)


@pytest.fixture
def store(own_client: redis.Redis) -> JobStore:
    return JobStore(own_client, keys=Keys("m"), ttl=600)


def message_of(publisher: CoalescingPublisher, job_id: str) -> list:
    with publisher.lone_message(job_id) as message:
        assert message is not None
        return message


def create(store: JobStore, job_id: str, message: list, **kw):
    return store.create_job(
        JobType.PREDICTION,
        params={},
        model_version="v",
        total=1,
        job_id=job_id,
        message=message,
        **kw,
    )


def test_a_lone_message_sends_nothing_and_holds_the_message_and_its_event(
    own_celery: Celery, own_client: redis.Redis
) -> None:
    publisher = CoalescingPublisher(TaskMessages(own_celery, PREDICT_TASK), own_client)
    message = message_of(publisher, "job-1")
    assert [(c[0], c[1]) for c in message] == [
        ("lpush", PREDICTIONS_QUEUE),
        ("publish", f"/{own_client.connection_pool.connection_kwargs['db']}.celeryev/task.sent"),
    ]
    assert own_client.llen(PREDICTIONS_QUEUE) == 0


def test_the_script_queues_the_message_after_the_record_and_its_event_goes_out(
    own_celery: Celery, own_client: redis.Redis, store: JobStore
) -> None:
    publisher = CoalescingPublisher(TaskMessages(own_celery, PREDICT_TASK), own_client)
    message = message_of(publisher, "job-1")
    events = own_client.pubsub()
    events.subscribe(message[1][1])
    assert events.get_message(timeout=2)["type"] == "subscribe"
    job_id, record = create(store, "job-1", message)
    assert record is not None
    assert store.get(job_id).status is JobStatus.QUEUED
    assert task_ids(own_client) == [["job-1"]]
    sent = events.get_message(timeout=2)
    assert sent is not None
    assert json.loads(sent["data"])["body"]  # the task-sent event
    events.close()


def test_a_replayed_idempotency_key_queues_no_second_message(
    own_celery: Celery, own_client: redis.Redis, store: JobStore
) -> None:
    publisher = CoalescingPublisher(TaskMessages(own_celery, PREDICT_TASK), own_client)
    create(store, "job-1", message_of(publisher, "job-1"), idempotency_key="k")
    job_id, record = create(store, "job-2", message_of(publisher, "job-2"), idempotency_key="k")
    assert (job_id, record) == ("job-1", None)
    assert task_ids(own_client) == [["job-1"]]


def test_a_refused_quota_queues_no_message(
    own_celery: Celery, own_client: redis.Redis, store: JobStore
) -> None:
    publisher = CoalescingPublisher(TaskMessages(own_celery, PREDICT_TASK), own_client)
    create(store, "job-1", message_of(publisher, "job-1"), tenant="acme", tenancy=LIMITS)
    with pytest.raises(QuotaExceeded):
        create(store, "job-2", message_of(publisher, "job-2"), tenant="acme", tenancy=LIMITS)
    assert task_ids(own_client) == [["job-1"]]
    assert not own_client.exists(store.keys.job("job-2"))


def test_the_script_runs_no_other_command_and_then_writes_nothing(
    own_client: redis.Redis, store: JobStore
) -> None:
    with pytest.raises(redis.ResponseError, match="cannot del"):
        create(store, "job-1", [("del", store.keys.job("job-0"), "")])
    assert not own_client.exists(store.keys.job("job-1"))


def test_no_lone_message_while_another_publish_is_under_way(
    own_celery: Celery, own_client: redis.Redis, store: JobStore
) -> None:
    publisher = CoalescingPublisher(TaskMessages(own_celery, PREDICT_TASK), own_client)
    with publisher.lone_message("job-1") as first:
        assert first is not None
        with publisher.lone_message("job-2") as second:
            assert second is None  # published behind the first, as behind any publish
    # hold the publisher's round, so that a job is in flight meanwhile
    gate, sent, send = threading.Event(), [], publisher._send

    def held_send(job_ids: list[str]) -> None:
        sent.append(job_ids)
        gate.wait(5)
        send(job_ids)

    publisher._send = held_send  # type: ignore[method-assign]
    creation = store.creation(JobType.PREDICTION, params={}, model_version="v", total=1)
    thread = threading.Thread(target=publisher.create, args=(creation,))
    thread.start()
    wait_until(lambda: sent == [[creation.job_id]], 5, "the held send")
    with publisher.lone_message("job-3") as during:
        assert during is None
    gate.set()
    thread.join(10)
    assert task_ids(own_client) == [[creation.job_id]]
    with publisher.lone_message("job-4") as after:
        assert after is not None
