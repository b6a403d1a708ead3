"""The latest monitoring results the workers keep in Redis, and where, for the web to show.

The scheduled drift check writes each model version's last check (summary, estimated
accuracy, calibration), the accuracy update its last measured accuracy; each also adds
a point to the version's short history (estimated and measured accuracy, prediction
volume over time, for the console's charts). The monitoring window is the columnar
copy of the newest logged predictions. Both sides take the key names from
:class:`core.keys.Keys`, so the web reads them without importing workers.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from core.errors import BrokerUnavailable
from core.keys import Keys

HISTORY_POINTS = 500  # points kept per model version: ~20 h of checks every 5 min, ~80 kB
DRIFT_CHECK = "drift_check"  # a history point's kind: a scheduled drift check
MEASURED_ACCURACY = "measured_accuracy"  # ... an update of the measured accuracy


def latest(client: redis.Redis, keys: Keys, version: str) -> dict[str, Any]:
    """The version's last drift check and measured accuracy (each None until measured), and
    its history points, oldest first."""
    try:
        pipe = client.pipeline(transaction=False)
        pipe.mget([keys.drift_check(version), keys.accuracy(version)])
        pipe.lrange(keys.monitoring_history(version), 0, HISTORY_POINTS - 1)
        (drift, accuracy), points = pipe.execute()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise BrokerUnavailable("Redis cannot be reached; retry later") from exc
    return {
        "drift_check": json.loads(drift) if drift else None,
        "measured_accuracy": json.loads(accuracy) if accuracy else None,
        "history": [json.loads(p) for p in reversed(points)],
    }


def add_point(
    client: redis.Redis, keys: Keys, version: str, point: dict[str, Any], ttl: int
) -> None:
    """Add ``point`` (``at``, ``kind`` and its figures) to the version's history, keeping the
    newest ``HISTORY_POINTS``; the history expires ``ttl`` seconds after its last point."""
    key = keys.monitoring_history(version)
    pipe = client.pipeline(transaction=True)
    pipe.lpush(key, json.dumps(point))
    pipe.ltrim(key, 0, HISTORY_POINTS - 1)
    pipe.expire(key, ttl)
    pipe.execute()
