"""What the tests read of a stack's prediction log, through the log's own reader."""

from __future__ import annotations

import redis

from core.keys import Keys
from core.prediction_log import LogEntry, LogRecord, PredictionLog


def logged_records(client: redis.Redis, keys: Keys | None = None) -> list[LogRecord]:
    """Every entry of the log, oldest first."""
    return PredictionLog(client, keys or Keys()).window(version=None).records


def logged_predictions(client: redis.Redis, keys: Keys | None = None) -> list[LogEntry]:
    """Every logged prediction, oldest first."""
    return [e for r in logged_records(client, keys) for e in r.entries()]
