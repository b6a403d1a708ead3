"""Autoscaling signals per Celery queue: its backlog per live worker and its oldest message's age.

An autoscaler wants two numbers per queue, read cheaply and often (every
Prometheus scrape of the web's ``/metrics``):

- **backlog per worker**: messages waiting in the queue (``LLEN``: messages a
  worker has taken are no longer in the list) divided by the workers consuming
  it, like SageMaker async's ``ApproximateBacklogSizePerInstance``. With no live
  worker it is the whole backlog (what a first worker would face), so that a
  queue scaled to zero still asks for one.
- **age of the oldest message**: every message carries the time it was
  published in a header (:func:`stamp`, connected to Celery's
  ``before_task_publish`` by :func:`core.queue.make_celery`); kombu's Redis
  transport pushes on the left and pops on the right, so the oldest message is
  the list's last item (``LINDEX -1``). A message put back on its queue (a
  stopping worker's, a redelivery) keeps its header: its age counts from its
  first publish. A message without the header (published by another client)
  counts as new.

Which workers are live: each worker's main process announces the queues it
consumes every ``ANNOUNCE_SECONDS`` (:func:`announce`, a sorted set per queue of
worker name -> when it last did) and withdraws when it stops (:func:`withdraw`);
one silent for ``LIVE_SECONDS`` (killed, its host lost) is no longer counted.
Reading every queue costs one pipelined round trip of three O(1) commands per
queue, plus the JSON header of each queue's oldest message.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import redis

from core.keys import Keys
from telemetry import metrics

log = logging.getLogger(__name__)

PUBLISHED_AT_HEADER = "lifeboat_published_at"  # Unix time (s) a message was first published
ANNOUNCE_SECONDS = 5.0  # seconds between two announcements of a worker's queues
LIVE_SECONDS = 3 * ANNOUNCE_SECONDS  # a worker silent this long is no longer counted


def stamp(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """``before_task_publish``: the message's publish time, unless it has one already."""
    if headers is not None:
        headers.setdefault(PUBLISHED_AT_HEADER, time.time())


@dataclass(frozen=True)
class QueueBacklog:
    """What an autoscaler reads of one queue."""

    queue: str
    messages: int  # waiting, not yet taken by a worker
    workers: int  # live workers consuming the queue
    oldest_age: float  # seconds the oldest waiting message has waited (0 when none waits)

    @property
    def per_worker(self) -> float:
        """Waiting messages per live worker (the whole backlog when none is live)."""
        return self.messages / max(self.workers, 1)


def announce(
    client: redis.Redis,
    keys: Keys,
    worker: str,
    queues: Iterable[str],
    now: float | None = None,
) -> None:
    """``worker`` consumes ``queues`` now (one round trip); forget workers long silent."""
    now = time.time() if now is None else now
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        key = keys.queue_workers(queue)
        pipe.zadd(key, {worker: now})
        pipe.zremrangebyscore(key, "-inf", now - LIVE_SECONDS)
        pipe.expire(key, math.ceil(LIVE_SECONDS))
    pipe.execute()


def withdraw(client: redis.Redis, keys: Keys, worker: str, queues: Iterable[str]) -> None:
    """``worker`` stops consuming ``queues`` (it is stopping)."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.zrem(keys.queue_workers(queue), worker)
    pipe.execute()


def read(
    client: redis.Redis, keys: Keys, queues: Iterable[str], now: float | None = None
) -> list[QueueBacklog]:
    """Every queue's backlog, live workers and oldest message's age (one round trip)."""
    now = time.time() if now is None else now
    names = list(queues)
    pipe = client.pipeline(transaction=False)
    for queue in names:
        pipe.llen(queue)
        pipe.lindex(queue, -1)
        pipe.zcount(keys.queue_workers(queue), now - LIVE_SECONDS, "+inf")
    answers = pipe.execute()
    return [
        QueueBacklog(
            queue,
            int(answers[3 * i]),
            int(answers[3 * i + 2]),
            _age(answers[3 * i + 1], now),
        )
        for i, queue in enumerate(names)
    ]


def _age(message: bytes | None, now: float) -> float:
    """Seconds since ``message`` (kombu's JSON envelope) was first published; 0 if unknown."""
    if message is None:
        return 0.0
    try:
        published = float(json.loads(message)["headers"][PUBLISHED_AT_HEADER])
    except (ValueError, KeyError, TypeError):
        return 0.0
    return max(0.0, now - published)


def export(client: redis.Redis, keys: Keys, queues: Iterable[str]) -> list[QueueBacklog]:
    """Set the queue gauges of :mod:`telemetry.metrics` from :func:`read`; what was read.

    A Redis that cannot be reached leaves them as they were (``/metrics`` still
    answers; ``RedisDown`` says why they stopped moving)."""
    try:
        backlogs = read(client, keys, queues)
    except redis.RedisError as exc:
        log.warning("could not read the queues' backlog: %s", exc)
        return []
    for b in backlogs:
        metrics.QUEUE_BACKLOG_PER_WORKER.labels(b.queue).set(b.per_worker)
        metrics.QUEUE_OLDEST_MESSAGE_AGE.labels(b.queue).set(b.oldest_age)
        metrics.QUEUE_WORKERS.labels(b.queue).set(b.workers)
    return backlogs
