"""The autoscaling signals read from a real Redis, with messages a real Celery app published."""

from __future__ import annotations

import time

import pytest
import redis

from core import backlog
from core.keys import Keys
from core.queue import (
    BATCHES_QUEUE,
    BUILD_REPORT_TASK,
    PREDICT_TASK,
    QUEUES,
    REPORTS_QUEUE,
    SCORE_BATCH_PART_TASK,
    WEBHOOKS_QUEUE,
    make_celery,
)
from core.settings import Settings
from devsupport import RedisServer

KEYS = Keys("backlogtest")


@pytest.fixture
def client(redis_server: RedisServer) -> redis.Redis:
    db = redis_server.client(15)  # a database no stack uses
    # the queues and workers of an earlier test (not FLUSHDB: kombu's bindings, declared
    # once per process, must stay)
    db.delete(*QUEUES, *(KEYS.queue_workers(q) for q in QUEUES))
    return db


@pytest.fixture
def celery(redis_server: RedisServer):
    app = make_celery(Settings(redis_url=f"{redis_server.url}/15"))
    yield app
    app.close()


def test_every_message_carries_the_time_it_was_published(client, celery):
    before = time.time()
    celery.send_task(PREDICT_TASK, args=[["job-1"]])
    [got] = backlog.read(client, KEYS, ["predictions"], now=before + 100)
    assert before + 100 - time.time() <= got.oldest_age <= 100


def test_the_oldest_message_is_the_one_published_first(client, celery):
    celery.send_task(SCORE_BATCH_PART_TASK, args=["first", 0])
    first_sent = time.time()
    time.sleep(1.0)
    for i in range(3):
        celery.send_task(SCORE_BATCH_PART_TASK, args=["later", i])
    now = time.time()
    [got] = backlog.read(client, KEYS, [BATCHES_QUEUE], now=now)
    assert got.messages == 4
    # the first message's age (published before first_sent), not a later one's (~0 s)
    assert got.oldest_age >= now - first_sent >= 1.0


def test_backlog_per_worker_divides_the_messages_by_the_live_workers(client, celery):
    for i in range(6):
        celery.send_task(BUILD_REPORT_TASK, args=[f"job-{i}"])
    backlog.announce(client, KEYS, "a@host1", [REPORTS_QUEUE, WEBHOOKS_QUEUE])
    backlog.announce(client, KEYS, "b@host2", [REPORTS_QUEUE])
    got = {b.queue: b for b in backlog.read(client, KEYS, [REPORTS_QUEUE, WEBHOOKS_QUEUE])}
    assert (got[REPORTS_QUEUE].workers, got[REPORTS_QUEUE].per_worker) == (2, 3.0)
    assert (got[WEBHOOKS_QUEUE].workers, got[WEBHOOKS_QUEUE].messages) == (1, 0)
    assert got[WEBHOOKS_QUEUE].oldest_age == 0.0


def test_with_no_live_worker_the_whole_backlog_is_per_worker(client, celery):
    for i in range(5):
        celery.send_task(PREDICT_TASK, args=[[f"job-{i}"]])
    [got] = backlog.read(client, KEYS, ["predictions"])
    assert (got.workers, got.per_worker) == (0, 5.0)


def test_a_worker_silent_for_longer_than_its_liveness_no_longer_counts(client):
    now = time.time()
    backlog.announce(client, KEYS, "gone@host", ["predictions"], now=now - backlog.LIVE_SECONDS - 1)
    backlog.announce(client, KEYS, "here@host", ["predictions"], now=now)
    [got] = backlog.read(client, KEYS, ["predictions"], now=now)
    assert got.workers == 1
    # and the next announcement forgets it
    assert client.zrange(KEYS.queue_workers("predictions"), 0, -1) == [b"here@host"]


def test_a_withdrawn_worker_no_longer_counts(client):
    backlog.announce(client, KEYS, "w@host", ["predictions", "batches"])
    backlog.withdraw(client, KEYS, "w@host", ["predictions", "batches"])
    assert [b.workers for b in backlog.read(client, KEYS, ["predictions", "batches"])] == [0, 0]


def test_a_message_without_the_header_counts_as_new(client):
    client.lpush("predictions", b'{"body": "", "headers": {"task": "x"}}')
    client.lpush("batches", b"not json")
    got = backlog.read(client, KEYS, ["predictions", "batches"])
    assert [(b.messages, b.oldest_age) for b in got] == [(1, 0.0), (1, 0.0)]
