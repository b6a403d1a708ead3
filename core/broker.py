"""kombu's Redis transport, made to outlive a Redis that refuses commands for a while.

A full Redis (``maxmemory`` under ``noeviction``) or a read-only one refuses the
writes kombu makes to keep track of a delivered message (``ZADD``/``HSET`` of the
unacked index when it is delivered, ``ZREM``/``HDEL`` when it is acked). With
kombu's own transport the first ends the worker's main process ("Unrecoverable
error") and the second leaves the message's prefetch slot taken for good: the
worker never takes another message, and the platform does not recover once
memory frees. Here:

- every passing refusal (``core.redis_errors.PASSING_REPLIES``) is a connection
  error: the worker reconnects and retries, as for a Redis restart; the bookkeeping's
  transactions also take a transaction Redis discards at ``EXEC`` because memory went
  over ``maxmemory`` after its writes were queued (``EXECABORT`` naming ``OOM``) as the
  refusal it is (``core.redis_errors.is_refusal``);
- a message Redis would not record is still run (without the copy Redis keeps
  for a worker that dies; the job's record and the stale-job sweep still have it);
- an ack Redis refuses still frees the prefetch slot; the bookkeeping is removed
  at the next ack Redis takes (until then, a copy could be redelivered after the
  visibility timeout, and its task would find its jobs finished).

:func:`captured_publishes` keeps the Redis commands of the publishes made inside it
(a task message's ``LPUSH``, its event's ``PUBLISH``) instead of sending them: the
message Celery writes that ``core.task_messages`` copies from then on.

The Celery app names :class:`Transport` as its ``broker_transport`` (``core/queue.py``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from kombu.transport import redis as kombu_redis
from kombu.transport import virtual

from core.redis_errors import PASSING_REPLIES, is_refusal

log = logging.getLogger(__name__)

# Redis commands a publish would send, as (command, key or channel, payload)
Command = tuple[str, str, bytes | str]
PASSABLE_COMMANDS = frozenset({"lpush", "publish"})  # what a captured publish may hold
_capture = threading.local()  # greenlet-local under gevent


@contextmanager
def captured_publishes() -> Iterator[list[Command]]:
    """Inside, a batch publish (``with producer.batch(): ...``) on :class:`Channel` sends
    nothing: its Redis commands are appended to the list yielded, in order."""
    commands: list[Command] = []
    _capture.commands = commands
    try:
        yield commands
    finally:
        del _capture.commands


class CapturedBatch:
    """A kombu publish batch that keeps a publish's final Redis commands (kombu's channel
    hands a batch each command through :meth:`add`) instead of sending them."""

    def __init__(self, channel: Any, commands: list[Command]) -> None:
        self.channel = channel
        self._commands = commands
        self._collecting: list[Command] | None = None

    def publish(self, message: Any, **kwargs: Any) -> Any:
        self._collecting = []
        try:
            result = self.channel.basic_publish(message, _publish_batch=self, **kwargs)
        finally:
            collected, self._collecting = self._collecting, None
        self._commands.extend(collected)
        return result

    def add(self, name: str, *args: Any) -> None:
        if self._collecting is None or name not in PASSABLE_COMMANDS or len(args) != 2:
            raise RuntimeError(f"a captured publish cannot hold {name} {args!r}")
        self._collecting.append((name, str(args[0]), args[1]))

    def flush(self) -> None:  # the commands are the caller's to run
        pass

    def discard(self) -> None:
        self._commands.clear()

    def close(self) -> None:
        pass


# what the bookkeeping's writes may raise when Redis refuses them for a passing reason
_REFUSALS = (*PASSING_REPLIES, redis.exceptions.ExecAbortError)


class QoS(kombu_redis.QoS):
    """kombu's Redis ack emulation; a refused write of its bookkeeping frees the slot anyway."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self._unforgotten: set[str] = set()  # acked tags Redis still holds in its unacked index

    def append(self, message: object, delivery_tag: str) -> None:
        try:
            super().append(message, delivery_tag)
        except _REFUSALS as exc:
            if not is_refusal(exc):
                raise
            log.warning("Redis did not record delivered message %s (%s)", delivery_tag, exc)
            virtual.QoS.append(self, message, delivery_tag)

    def ack(self, delivery_tag: str) -> None:
        tags = [*self._unforgotten, delivery_tag]
        try:
            with self.pipe_or_acquire() as pipe:
                for tag in tags:
                    self._remove_from_indices(tag, pipe)
                pipe.execute()
            self._unforgotten.clear()
        except _REFUSALS as exc:
            if not is_refusal(exc):
                raise
            log.warning("Redis kept acked message %s in its unacked index (%s)", delivery_tag, exc)
            self._unforgotten.add(delivery_tag)
        virtual.QoS.ack(self, delivery_tag)

    def reject(self, delivery_tag: str, requeue: bool = False) -> None:
        try:
            super().reject(delivery_tag, requeue=requeue)
        except _REFUSALS as exc:
            if not is_refusal(exc):
                raise
            # still in the unacked index: restored after the visibility timeout
            log.warning("Redis refused to put message %s back (%s)", delivery_tag, exc)
            virtual.QoS.ack(self, delivery_tag)


class Channel(kombu_redis.Channel):
    """kombu's Redis channel with :class:`QoS`, and one client object for its commands.

    kombu builds a new ``redis.Redis`` for every command it sends outside the consumer's
    poll (a publish, a task event, the unacked bookkeeping and the ack of each message),
    and redis-py fills ~170 reply callbacks into a new case-insensitive dict each time:
    0.16 ms of CPU per command, 0.31 ms of a 0.72 ms ``send_task`` (measured with
    cProfile). A client holds no connection of its own (it takes one from the pool per
    command), so one is shared until the channel's pool is replaced.
    """

    QoS = QoS

    def __init__(self, *args: object, **kwargs: object) -> None:
        self._shared_client: tuple[object, object] | None = None  # (pool, client)
        super().__init__(*args, **kwargs)

    def create_publish_batch(self, max_size: int) -> Any:
        commands = getattr(_capture, "commands", None)
        if commands is not None:
            return CapturedBatch(self, commands)
        return super().create_publish_batch(max_size)

    def _create_client(self, asynchronous: bool = False):  # type: ignore[no-untyped-def]
        if asynchronous:  # the consumer's poll works on its client's connection itself
            return super()._create_client(asynchronous=True)
        pool, shared = self.pool, self._shared_client
        if shared is None or shared[0] is not pool:
            shared = self._shared_client = (pool, super()._create_client())
        return shared[1]


class Transport(kombu_redis.Transport):
    """kombu's Redis transport with :class:`QoS`, for which a passing refusal is a lost
    connection (to retry), not an unrecoverable error."""

    Channel = Channel
    connection_errors = (*kombu_redis.Transport.connection_errors, *PASSING_REPLIES)
