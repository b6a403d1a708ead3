"""A task's messages for kombu's Redis transport, as Celery writes them, for a few µs each.

The web publishes a ``predict`` message for every few jobs (``web.publishing``), and
``send_task`` through kombu's producer cost 0.61 ms of CPU per message under gevent
(routing and option merging, a copy of the queue and of the event exchange to check
their declarations, ``saferepr`` of the arguments, the producer pool), against 0.26 ms
for the same two commands written here (0.05 ms) and sent in one transaction: 0.42x
(``python -m bench.task_messages``, 2026-12-02).

Celery still writes each process's first message of the task (:func:`captured_publishes`
keeps its commands instead of sending them): that message is the template, and every
later one is a copy with the fields that differ per message set anew — the task's id
(also its root id and correlation id), its arguments and their ``argsrepr``, the publish
time (``backlog.PUBLISHED_AT_HEADER``), kombu's delivery tags, and in the ``task-sent``
event the Lamport clock, the timestamp and the UTC offset. Whatever else Celery puts in
a message comes from the template as it is; ``tests/core/test_task_messages.py`` compares
a copy with a message of Celery's own, field by field, so that a Celery or kombu upgrade
that adds a field varying per message fails there.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from celery import Celery
from celery.utils.saferepr import saferepr
from celery.utils.time import utcoffset

from core.backlog import PUBLISHED_AT_HEADER
from core.broker import Command, captured_publishes

TEMPLATE_ARG = "template"  # the argument of the message Celery writes as the template


@dataclass(frozen=True)
class _Template:
    """What Celery wrote for one message of the task, decoded."""

    pid: int
    queue: str  # the LPUSH key
    topic: str  # the event's PUBLISH channel
    envelope: dict[str, Any]
    rest_of_body: list[Any]  # the body after its arguments: kwargs and embedded options
    event_envelope: dict[str, Any]
    event: dict[str, Any]


class TaskMessages:
    """The Redis commands of a message of ``task`` and of its ``task-sent`` event."""

    def __init__(self, celery: Celery, task: str) -> None:
        self._celery, self._task = celery, task
        self._template: _Template | None = None
        self._lock = threading.Lock()

    def commands(self, args: list[Any]) -> list[Command]:
        """An ``LPUSH`` of a new message calling the task with ``args``, then the
        ``PUBLISH`` of its event: to run in this order, in one transaction or script."""
        t = self._current()
        task_id = str(uuid.uuid4())
        argsrepr = _argsrepr(args, self._celery)
        now = time.time()
        envelope = dict(t.envelope)
        envelope["headers"] = {
            **t.envelope["headers"],
            "id": task_id,
            "root_id": task_id,
            "argsrepr": argsrepr,
            PUBLISHED_AT_HEADER: now,
        }
        envelope["properties"] = {
            **t.envelope["properties"],
            "correlation_id": task_id,
            "delivery_tag": str(uuid.uuid4()),
        }
        envelope["body"] = _encode([args, *t.rest_of_body])
        event = {
            **t.event,
            "utcoffset": utcoffset(),
            "clock": self._celery.clock.forward(),
            "uuid": task_id,
            "root_id": task_id,
            "args": argsrepr,
            "timestamp": now,
        }
        event_envelope = dict(t.event_envelope)
        event_envelope["properties"] = {
            **t.event_envelope["properties"],
            "delivery_tag": str(uuid.uuid4()),
        }
        event_envelope["body"] = _encode(event)
        return [
            ("lpush", t.queue, json.dumps(envelope)),
            ("publish", t.topic, json.dumps(event_envelope)),
        ]

    def _current(self) -> _Template:
        """This process's template (a forked process writes its own: origin, pid)."""
        template = self._template
        if template is None or template.pid != os.getpid():
            with self._lock:
                template = self._template
                if template is None or template.pid != os.getpid():
                    template = self._template = self._write_template()
        return template

    def _write_template(self) -> _Template:
        celery = self._celery
        with (
            captured_publishes() as commands,
            celery.producer_or_acquire() as producer,
            producer.batch(),
        ):
            celery.send_task(self._task, args=[TEMPLATE_ARG], producer=producer)
        (push, queue, message), (publish, topic, sent) = commands
        if (push, publish) != ("lpush", "publish"):
            raise RuntimeError(f"Celery wrote {push} and {publish}, not a message and its event")
        envelope, event_envelope = json.loads(message), json.loads(sent)
        body, event = _decode(envelope), _decode(event_envelope)
        if body[0] != [TEMPLATE_ARG] or event.get("type") != "task-sent":
            raise RuntimeError("Celery's message is not the one this module knows how to copy")
        return _Template(os.getpid(), queue, topic, envelope, body[1:], event_envelope, event)


def _argsrepr(args: list[Any], celery: Celery) -> str:
    """What Celery shows of the arguments: their ``repr``, cut as ``saferepr`` cuts it."""
    limit = celery.amqp.argsrepr_maxsize
    shown = repr(args)
    return shown if len(shown) <= limit else saferepr(args, limit)


def _encode(value: Any) -> str:
    return base64.b64encode(json.dumps(value).encode()).decode()


def _decode(envelope: dict[str, Any]) -> Any:
    """A template's body, which must be JSON in base64 for :func:`_encode` to copy it."""
    properties = envelope["properties"]
    if (
        envelope.get("content-type") != "application/json"
        or properties.get("body_encoding") != "base64"
    ):
        raise RuntimeError("Celery's message body is not base64 JSON")
    return json.loads(base64.b64decode(envelope["body"]))
