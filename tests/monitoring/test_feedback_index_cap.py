"""The feedback index keeps at most its cap of predictions: oldest days first, today never."""

from __future__ import annotations

import time

import msgspec
import pytest
import redis

from core import stores
from core.feedback import DAY_SECONDS, FeedbackStore
from core.keys import Keys
from core.prediction_log import records
from core.settings import Settings
from devsupport import RedisServer

pytestmark = pytest.mark.integration

CAP = 1_000
ENTRY = 100  # predictions per log entry
TENANT = "acme"  # the tenant every prediction here is logged for
_encoder = msgspec.json.Encoder()


def log_day(client: redis.Redis, day: int, job: str, predictions: int) -> None:
    """Log ``predictions`` of job ``job`` as if on UTC day ``day`` (stream ids of that day)."""
    for start in range(0, predictions, ENTRY):
        (record,) = records(
            job,
            "v1",
            numbers=range(start, start + ENTRY),
            features={"age": [30.0] * ENTRY},
            prediction=["died"] * ENTRY,
            probabilities={"died": [0.75] * ENTRY, "survived": [0.25] * ENTRY},
            tenant=TENANT,
        )
        stream_id = f"{day * DAY_SECONDS * 1000 + start}-0"
        client.xadd(Keys().prediction_log, {"entry": _encoder.encode(record)}, id=stream_id)


@pytest.fixture
def client(own_redis: RedisServer) -> redis.Redis:
    return own_redis.client()


def test_the_settings_cap_reaches_the_store(client: redis.Redis) -> None:
    settings = Settings(feedback_index_max_predictions=1234)
    assert stores.feedback_store(settings, client).max_indexed == 1234


def test_the_oldest_days_are_dropped_until_the_index_is_under_its_cap(
    client: redis.Redis,
) -> None:
    now = time.time()
    today = int(now // DAY_SECONDS)
    for back, job in ((3, "d3"), (2, "d2"), (1, "d1")):
        log_day(client, today - back, job, 400)
    log_day(client, today, "d0", 300)
    store = FeedbackStore(client, max_indexed=CAP)

    assert store.catch_up(now=now) == 15  # every entry read
    sizes = {day: n for day, n in store.indexed(now).items() if n}
    assert sizes == {today - 1: 400, today: 300}
    got = store.record(
        [("d3-0", "died"), ("d2-399", "died"), ("d1-0", "died"), ("d0-0", "died")],
        tenant=TENANT,
    )
    assert (got.accepted, got.unknown_ids) == (2, ["d3-0", "d2-399"])


def test_indexing_waits_while_today_alone_holds_the_cap_and_resumes_the_next_day(
    client: redis.Redis,
) -> None:
    now = time.time()
    today = int(now // DAY_SECONDS)
    log_day(client, today - 1, "old", 200)
    log_day(client, today, "big", 2_000)
    store = FeedbackStore(client, max_indexed=CAP)

    # 500 predictions a call: 500, 1000, then yesterday goes and today reaches 1300
    store.catch_up(rows=500, now=now)
    assert {day: n for day, n in store.indexed(now).items() if n} == {today: 1_300}
    got = store.record([("big-1299", "died"), ("big-1300", "died")], tenant=TENANT, now=now)
    assert got.unknown_ids == ["big-1300"]

    tomorrow = now + DAY_SECONDS
    store.catch_up(rows=500, now=tomorrow)  # today's day is old now: dropped, then the rest
    assert {day: n for day, n in store.indexed(tomorrow).items() if n} == {today: 700}
    got = store.record([("big-1300", "died"), ("big-1999", "died")], tenant=TENANT, now=tomorrow)
    assert (got.accepted, got.unknown_ids) == (2, [])
