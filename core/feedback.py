"""Ground truth for logged predictions: the prediction index, feedback, and labelled outcomes.

Shared by the web (``POST /feedback`` joins and records) and the workers
(accuracy gauges, performance reports). Redis only; standard library otherwise.

**Prediction index.** Feedback names a ``prediction_id``; the prediction log (a
stream) cannot be searched by it. A Lua script (the log's own,
:data:`core.prediction_log.INDEX`) reads the log from a cursor (the last entry
indexed) and writes, for every prediction of each entry, ``prediction_id →
[model_version, prediction, probabilities, ts, tenant]`` into one hash per UTC day of the entry,
expiring ``retention`` after that day ends. It runs inside Redis (no entry
crosses the network), in chunks, called by ``POST /feedback`` before it joins
(so a prediction can receive feedback as soon as its job has succeeded) and by
the scheduled drift check (so the web rarely has much to catch up). The job
store's finishing script is left untouched: indexing is lazy.

**Its cap.** The index holds at most ``max_indexed`` predictions
(``LIFEBOAT_FEEDBACK_INDEX_MAX_PREDICTIONS``; all model versions together, since a
day's hash holds every version). Before each indexing call, the oldest days are
dropped whole (index and recorded labels) while the index holds that many; the
current day is never dropped: when it alone holds the cap, indexing stops until
the next day (feedback for the predictions not indexed is answered unknown). After
a catch-up the index holds less than the cap, or the current day alone, which holds
at most the cap plus one call's rows (``INDEX_ROWS``) and one log entry.

**Feedback.** Another script looks each id up (newest day first), among the
predictions of the caller's tenant only (another tenant's is unknown), records the
label once with ``HSETNX`` in a per-day label hash (so the same id twice counts
once, whatever label the second time), and pushes the labelled outcome onto a
capped list per model version; ids found nowhere are counted as unknown.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from core import prediction_log, scripts
from core.errors import BrokerUnavailable
from core.keys import Keys

DAY_SECONDS = 86_400  # the index and the labels are bucketed by UTC day of the prediction
INDEX_ROWS = 10_000  # predictions one index call covers (bounds how long Redis is busy)
MAX_INDEX_CALLS = 50  # calls one catch-up makes at most (the rest waits for the next)
DEFAULT_MAX_INDEXED = 500_000  # predictions the index holds at most (all days together)

_RECORD = scripts.source("feedback_record")


@dataclass(frozen=True)
class FeedbackResult:
    """What one feedback request did."""

    accepted: int
    duplicate: int
    unknown_ids: list[str]
    model_versions: list[str] = field(default_factory=list)

    @property
    def unknown(self) -> int:
        return len(self.unknown_ids)


@dataclass(frozen=True)
class Outcome:
    """A prediction with its ground truth."""

    prediction_id: str
    actual: str
    model_version: str
    prediction: str
    probabilities: dict[str, float]
    ts: float  # when the prediction was made
    received_at: float  # when its feedback arrived


class FeedbackStore:
    """The prediction index, recorded feedback and labelled outcomes in Redis."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        keys: Keys | None = None,
        retention: int = 7 * DAY_SECONDS,
        max_labelled: int = 100_000,
        max_indexed: int = DEFAULT_MAX_INDEXED,
    ) -> None:
        self.redis = client
        self.keys = keys or Keys()
        self.retention = retention
        self.max_labelled = max_labelled
        self.max_indexed = max_indexed
        self._index = client.register_script(prediction_log.INDEX)
        self._record = client.register_script(_RECORD)

    def outcomes_key(self, version: str) -> str:
        return self.keys.feedback_outcomes(version)

    def catch_up(
        self, *, rows: int = INDEX_ROWS, max_calls: int = MAX_INDEX_CALLS, now: float | None = None
    ) -> int:
        """Index the log entries appended since the last call; returns how many were read.

        Stops early when the current day alone holds the cap (see the module's doc).
        """
        now = time.time() if now is None else now
        total = 0
        for _ in range(max_calls):
            if not self._make_room(now):
                break
            read, more = _guard(
                self._index,
                keys=[self.keys.prediction_log, self.keys.feedback_cursor],
                args=[rows, self.keys.feedback_index_prefix, self.retention],
            )
            total += int(read)
            if not int(more):
                break
        self._make_room(now)  # what this catch-up added counts at once
        return total

    def indexed(self, now: float | None = None) -> dict[int, int]:
        """Predictions in the index per UTC day number, oldest day first."""
        days = self._days(time.time() if now is None else now)
        pipe = self.redis.pipeline(transaction=False)
        for day in days:
            pipe.hlen(f"{self.keys.feedback_index_prefix}{day}")
        return dict(zip(days, _guard(pipe.execute), strict=True))

    def _make_room(self, now: float) -> bool:
        """Drop the oldest days while the index holds the cap; False if today alone does."""
        sizes = self.indexed(now)
        total = sum(sizes.values())
        for day in list(sizes)[:-1]:  # oldest first; never the current day
            if total < self.max_indexed:
                break
            if sizes[day]:
                prefixes = (self.keys.feedback_index_prefix, self.keys.feedback_label_prefix)
                _guard(self.redis.delete, *(f"{prefix}{day}" for prefix in prefixes))
                total -= sizes[day]
        return total < self.max_indexed

    def _days(self, now: float) -> list[int]:
        """The UTC day numbers a prediction still open to feedback was logged on, oldest first."""
        first = int((now - self.retention) // DAY_SECONDS) - 1
        return list(range(first, int(now // DAY_SECONDS) + 1))

    def record(
        self, items: list[tuple[str, str]], *, tenant: str, now: float | None = None
    ) -> FeedbackResult:
        """Join each (prediction_id, actual) to the tenant's prediction and record it once
        (another tenant's prediction counts as unknown)."""
        now = time.time() if now is None else now
        days = self._days(now)
        args: list[Any] = [
            self.keys.feedback_index_prefix,
            self.keys.feedback_label_prefix,
            self.keys.feedback_outcomes_prefix,
            self.retention,
            self.max_labelled,
            repr(now),
            tenant,
            len(days),
            *days,
        ]
        for prediction_id, actual in items:
            args += [prediction_id, actual]
        accepted, duplicate, unknown, versions = _guard(
            self._record, keys=[self.keys.feedback_versions], args=args
        )
        return FeedbackResult(
            accepted=int(accepted),
            duplicate=int(duplicate),
            unknown_ids=[_text(u) for u in unknown],
            model_versions=sorted(_text(v) for v in versions),
        )

    def versions(self) -> list[str]:
        """Model versions that have received feedback."""
        return sorted(_text(v) for v in _guard(self.redis.smembers, self.keys.feedback_versions))

    def labelled(self, version: str, limit: int) -> list[Outcome]:
        """The version's most recent labelled outcomes (newest first), at most ``limit``."""
        raw = _guard(self.redis.lrange, self.outcomes_key(version), 0, max(0, limit - 1))
        return [parse_outcome(item) for item in raw]


def parse_outcome(raw: bytes | str) -> Outcome:
    text = _text(raw)
    head, _, found = text.partition("\n")
    prediction_id, actual, received = json.loads(head)
    version, prediction, probabilities, ts = json.loads(found)[:4]
    return Outcome(
        prediction_id=prediction_id,
        actual=actual,
        model_version=version,
        prediction=prediction,
        probabilities={k: float(v) for k, v in (probabilities or {}).items()},
        ts=float(ts or 0.0),
        received_at=float(received),
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise BrokerUnavailable("Redis cannot be reached; retry later") from exc
