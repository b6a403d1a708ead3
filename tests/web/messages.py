"""Reading the task messages the web queued, as Celery's Redis transport holds them."""

from __future__ import annotations

import base64
import json

import redis

from core.queue import PREDICTIONS_QUEUE


def task_ids(client: redis.Redis) -> list[list[str]]:
    """The job ids of every task message on the predictions queue, oldest first."""
    raw = client.lrange(PREDICTIONS_QUEUE, 0, -1)
    bodies = [json.loads(m)["body"] for m in reversed(raw)]
    return [json.loads(base64.b64decode(b))[0][0] for b in bodies]
