"""Messages copied from Celery's template against messages Celery writes itself.

A real Redis and the real Celery app: Celery's ``send_task`` publishes one message and its
``task-sent`` event, :class:`TaskMessages` another with the same arguments; both are read
back from the queue and from the event channel and compared field by field. A field that
varies per message and is not set anew by the copy fails here.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
import redis
from celery import Celery

from core.backlog import PUBLISHED_AT_HEADER
from core.queue import PREDICT_TASK, PREDICTIONS_QUEUE
from core.task_messages import TaskMessages

pytestmark = pytest.mark.integration

# what differs between any two messages: set anew by the copy, compared on their own
MESSAGE_IDS = {"id", "root_id"}
PROPERTY_IDS = {"correlation_id", "delivery_tag"}
EVENT_FIELDS = {"uuid", "root_id", "clock", "timestamp"}


def decoded(envelope: dict[str, Any]) -> Any:
    assert envelope["properties"]["body_encoding"] == "base64"
    return json.loads(base64.b64decode(envelope["body"]))


def send(own_client: redis.Redis, messages: TaskMessages, args: list[Any]) -> None:
    with own_client.pipeline(transaction=True) as pipe:
        for name, key, payload in messages.commands(args):
            pipe.execute_command(name.upper(), key, payload)
        pipe.execute()


def published_pair(
    own_client: redis.Redis, own_celery: Celery, args: list[Any]
) -> tuple[tuple[dict, dict], tuple[dict, dict]]:
    """((Celery's message, its event), (the copy's message, its event)), as Redis got them."""
    messages = TaskMessages(own_celery, PREDICT_TASK)
    topic = messages.commands(args)[1][1]
    events = own_client.pubsub()
    events.subscribe(topic)
    assert events.get_message(timeout=2)["type"] == "subscribe"
    own_celery.send_task(PREDICT_TASK, args=args)
    send(own_client, messages, args)
    pushed = [json.loads(m) for m in reversed(own_client.lrange(PREDICTIONS_QUEUE, 0, -1))]
    sent = []
    while len(sent) < 2 and (got := events.get_message(timeout=2)) is not None:
        sent.append(json.loads(got["data"]))
    events.close()
    assert len(pushed) == 2, pushed
    assert len(sent) == 2, sent
    return (pushed[0], sent[0]), (pushed[1], sent[1])


def without(values: dict[str, Any], names: set[str]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k not in names}


@pytest.mark.parametrize("count", [1, 200])  # 200 ids: an argsrepr Celery cuts short
def test_a_copy_is_celerys_message_with_its_own_ids(
    own_client: redis.Redis, own_celery: Celery, count: int
) -> None:
    args = [[f"job-{n:04d}" for n in range(count)]]
    before = time.time()
    (theirs, _), (ours, _) = published_pair(own_client, own_celery, args)
    assert list(ours) == list(theirs)
    assert without(ours, {"body", "headers", "properties"}) == without(
        theirs, {"body", "headers", "properties"}
    )
    assert decoded(ours) == decoded(theirs)
    assert decoded(ours)[0] == args
    # the same headers in the same order, equal but for the ids and the publish time
    assert list(ours["headers"]) == list(theirs["headers"])
    varying = MESSAGE_IDS | {PUBLISHED_AT_HEADER}
    assert without(ours["headers"], varying) == without(theirs["headers"], varying)
    assert without(ours["properties"], PROPERTY_IDS) == without(theirs["properties"], PROPERTY_IDS)
    task_id = ours["headers"]["id"]
    assert task_id != theirs["headers"]["id"]
    assert ours["headers"]["root_id"] == ours["properties"]["correlation_id"] == task_id
    assert ours["properties"]["delivery_tag"] != theirs["properties"]["delivery_tag"]
    assert before <= ours["headers"][PUBLISHED_AT_HEADER] <= time.time()


def test_a_copys_event_is_celerys_task_sent_event_with_its_own_ids_and_clock(
    own_client: redis.Redis, own_celery: Celery
) -> None:
    args = [["job-1", "job-2"]]
    before = time.time()
    (_, their_event), (ours, our_event) = published_pair(own_client, own_celery, args)
    assert without(our_event, {"body", "properties"}) == without(
        their_event, {"body", "properties"}
    )
    assert without(our_event["properties"], {"delivery_tag"}) == without(
        their_event["properties"], {"delivery_tag"}
    )
    mine, celerys = decoded(our_event), decoded(their_event)
    assert list(mine) == list(celerys)
    assert without(mine, EVENT_FIELDS) == without(celerys, EVENT_FIELDS)
    assert mine["type"] == "task-sent"
    assert mine["uuid"] == mine["root_id"] == ours["headers"]["id"]
    assert mine["clock"] > celerys["clock"]  # the app's Lamport clock, moved forward
    assert before <= mine["timestamp"] <= time.time()


def test_every_copy_has_ids_of_its_own(own_celery: Celery) -> None:
    messages = TaskMessages(own_celery, PREDICT_TASK)
    first, second = (
        [json.loads(payload) for _, _, payload in messages.commands([["job-1"]])] for _ in range(2)
    )
    assert first[0]["headers"]["id"] != second[0]["headers"]["id"]
    assert first[0]["properties"]["delivery_tag"] != second[0]["properties"]["delivery_tag"]
    assert decoded(first[1])["clock"] < decoded(second[1])["clock"]
