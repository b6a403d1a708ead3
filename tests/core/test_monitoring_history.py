"""A model version's monitoring history: capped, oldest first when read, one per version."""

from __future__ import annotations

import pytest
import redis

from core.keys import Keys
from core.monitoring_records import DRIFT_CHECK, HISTORY_POINTS, add_point, latest
from devsupport import RedisServer


@pytest.fixture
def client(own_redis: RedisServer) -> redis.Redis:
    return own_redis.client(0)


def test_the_history_keeps_the_newest_points_and_reads_oldest_first(
    client: redis.Redis,
) -> None:
    keys = Keys("t")
    for i in range(HISTORY_POINTS + 5):
        add_point(client, keys, "v1", {"at": float(i), "kind": DRIFT_CHECK}, ttl=60)
    history = latest(client, keys, "v1")["history"]
    assert [p["at"] for p in history] == [float(i) for i in range(5, HISTORY_POINTS + 5)]
    assert 0 < client.ttl(keys.monitoring_history("v1")) <= 60


def test_a_version_without_points_has_an_empty_history(client: redis.Redis) -> None:
    keys = Keys("t")
    add_point(client, keys, "v1", {"at": 1.0, "kind": DRIFT_CHECK}, ttl=60)
    assert latest(client, keys, "v2") == {
        "drift_check": None,
        "measured_accuracy": None,
        "history": [],
    }
