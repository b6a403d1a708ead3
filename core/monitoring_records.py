"""The latest monitoring results the workers keep in Redis, and where, for the web to show.

The scheduled drift check writes each model version's last check (summary, estimated
accuracy, calibration), the accuracy update its last measured accuracy; the
monitoring window is the columnar copy of the newest logged predictions. Both
sides take the key names from :class:`core.keys.Keys`, so the web reads them without
importing workers.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from core.errors import BrokerUnavailable
from core.keys import Keys


def latest(client: redis.Redis, keys: Keys, version: str) -> dict[str, Any]:
    """The version's last drift check and measured accuracy (each None until measured)."""
    try:
        drift, accuracy = client.mget([keys.drift_check(version), keys.accuracy(version)])
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise BrokerUnavailable("Redis cannot be reached; retry later") from exc
    return {
        "drift_check": json.loads(drift) if drift else None,
        "measured_accuracy": json.loads(accuracy) if accuracy else None,
    }
