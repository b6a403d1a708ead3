"""The worker's broker transport outlives a full Redis that discards a transaction.

A full Redis refuses a write of the message bookkeeping either as it is queued in the
transaction (redis-py raises ``OutOfMemoryError``) or at ``EXEC``, when memory went over
``maxmemory`` after the writes were queued: it then discards the whole transaction
(``ExecAbortError``, "Transaction discarded because of: OOM ..."). The second ended the
worker's main process ("Unrecoverable error") in a CI run of
``tests/reliability/test_redis_full.py``. Against a real Redis.
"""

from __future__ import annotations

from typing import Any

import kombu
import pytest
import redis
from kombu.transport import redis as kombu_redis

from core.broker import Transport
from core.redis_errors import is_refusal

pytestmark = pytest.mark.integration


def discarded(client: redis.Redis, filler: redis.Redis) -> redis.exceptions.ExecAbortError:
    """The error of a transaction whose write was queued, then found Redis full at EXEC."""
    conn = client.connection_pool.get_connection("MULTI")
    try:
        for command in (("MULTI",), ("HSET", "unacked", "tag", "x")):
            conn.send_command(*command)
            conn.read_response()
        # meanwhile, another client writes 2 MB, then the limit falls to 1 MB: memory is
        # over it by far at EXEC (filling up to the limit left it over by less than the
        # filler's freed query buffer, and one run's EXEC went through)
        with filler.pipeline(transaction=False) as pipe:
            for i in range(200):
                pipe.set(f"filler:{i}", "x" * 10_000)
            pipe.execute()
        filler.config_set("maxmemory", "1mb")
        conn.send_command("EXEC")
        with pytest.raises(redis.exceptions.ExecAbortError) as caught:
            conn.read_response()
        return caught.value
    finally:
        client.connection_pool.release(conn)


def test_a_transaction_discarded_by_a_full_redis_is_a_refusal(own_redis: Any) -> None:
    exc = discarded(own_redis.client(), own_redis.client())
    assert "OOM" in str(exc)
    assert is_refusal(exc)


def test_a_transaction_discarded_for_a_bad_command_is_not_a_refusal(own_client: Any) -> None:
    pipe = own_client.pipeline(transaction=True)
    pipe.execute_command("NOSUCHCOMMAND")
    with pytest.raises(redis.ResponseError) as caught:
        pipe.execute()
    assert not is_refusal(caught.value)


def test_a_message_whose_bookkeeping_a_full_redis_discards_is_still_run(
    own_redis: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    refusal = discarded(own_redis.client(), own_redis.client())

    def refused(*_args: Any) -> None:
        raise refusal

    monkeypatch.setattr(kombu_redis.QoS, "append", refused)
    with kombu.Connection(own_redis.url, transport=Transport) as conn:
        channel = conn.channel()
        raw = channel.prepare_message("body")
        raw["properties"]["delivery_info"] = {"exchange": "", "routing_key": "predictions"}
        raw["properties"]["delivery_tag"] = "tag-1"
        channel.qos.append(channel.Message(raw, channel=channel), "tag-1")
        assert "tag-1" in channel.qos._delivered  # the worker runs it: its slot is taken
