"""Ground truth for logged predictions: the prediction index, feedback, and labelled outcomes.

Shared by the web (``POST /feedback`` joins and records) and the workers
(accuracy gauges, performance reports). Redis only; standard library otherwise.

**Prediction index.** Feedback names a ``prediction_id``; the prediction log (a
stream) cannot be searched by it. A Lua script reads the log from a cursor
(the last entry indexed) and writes ``prediction_id → [model_version,
prediction, probabilities, ts]`` into one hash per UTC day of the entry,
expiring ``retention`` after that day ends. It runs inside Redis (no entry
crosses the network), in chunks, called by ``POST /feedback`` before it joins
(so a prediction can receive feedback as soon as its job has succeeded) and by
the scheduled drift check (so the web rarely has much to catch up). The job
store's finishing script is left untouched: indexing is lazy.

**Feedback.** Another script looks each id up (newest day first), records the
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

from core.errors import BrokerUnavailable

DAY_SECONDS = 86_400  # the index and the labels are bucketed by UTC day of the prediction
INDEX_CHUNK = 1_000  # log entries indexed by one script call (bounds how long Redis is busy)
MAX_INDEX_CHUNKS = 500  # chunks one catch-up call runs at most (the rest waits for the next)

# KEYS[1] prediction log, KEYS[2] cursor; ARGV: count, key prefix, retention seconds
_INDEX = """
local cursor = redis.call('GET', KEYS[2])
local start = '-'
if cursor then start = '(' .. cursor end
local entries = redis.call('XRANGE', KEYS[1], start, '+', 'COUNT', tonumber(ARGV[1]))
local last = nil
for _, e in ipairs(entries) do
  local raw = nil
  local fields = e[2]
  for j = 1, #fields, 2 do
    if fields[j] == 'entry' then raw = fields[j + 1] end
  end
  if raw then
    local ok, obj = pcall(cjson.decode, raw)
    if ok and type(obj) == 'table' and type(obj.prediction_id) == 'string' then
      local ms = tonumber(string.match(e[1], '^(%d+)'))
      local day = math.floor(ms / 1000 / 86400)
      local key = ARGV[2] .. 'fb:idx:' .. day
      local value = cjson.encode({obj.model_version, obj.prediction, obj.probabilities, obj.ts})
      redis.call('HSET', key, obj.prediction_id, value)
      redis.call('EXPIREAT', key, (day + 1) * 86400 + tonumber(ARGV[3]))
    end
  end
  last = e[1]
end
if last then redis.call('SET', KEYS[2], last) end
return #entries
"""

# KEYS[1] versions set; ARGV: key prefix, retention, max labelled, received_at, number of
# day buckets, the days (oldest first), then prediction_id / actual pairs.
_RECORD = """
local prefix = ARGV[1]
local retention = tonumber(ARGV[2])
local max_labelled = tonumber(ARGV[3])
local received = tonumber(ARGV[4])
local nb = tonumber(ARGV[5])
local accepted, duplicate = 0, 0
local unknown = {}
local versions = {}
for i = 6 + nb, #ARGV, 2 do
  local pid, actual = ARGV[i], ARGV[i + 1]
  local found, day = nil, nil
  for b = 5 + nb, 6, -1 do
    local v = redis.call('HGET', prefix .. 'fb:idx:' .. ARGV[b], pid)
    if v then
      found = v
      day = ARGV[b]
      break
    end
  end
  if not found then
    unknown[#unknown + 1] = pid
  else
    local label_key = prefix .. 'fb:label:' .. day
    if redis.call('HSETNX', label_key, pid, actual) == 1 then
      redis.call('EXPIREAT', label_key, (tonumber(day) + 1) * 86400 + retention)
      local version = cjson.decode(found)[1]
      local outcome = cjson.encode({pid, actual, received}) .. '\\n' .. found
      local list = prefix .. 'fb:outcomes:' .. version
      redis.call('LPUSH', list, outcome)
      redis.call('LTRIM', list, 0, max_labelled - 1)
      redis.call('SADD', KEYS[1], version)
      versions[version] = true
      accepted = accepted + 1
    else
      duplicate = duplicate + 1
    end
  end
end
local touched = {}
for v, _ in pairs(versions) do touched[#touched + 1] = v end
return {accepted, duplicate, unknown, touched}
"""


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
        prefix: str = "lifeboat",
        retention: int = 7 * DAY_SECONDS,
        max_labelled: int = 100_000,
    ) -> None:
        self.redis = client
        self.prefix = prefix
        self.retention = retention
        self.max_labelled = max_labelled
        self.prediction_log = f"{prefix}:predlog"
        self.cursor_key = f"{prefix}:fb:cursor"
        self.versions_key = f"{prefix}:fb:versions"
        self._index = client.register_script(_INDEX)
        self._record = client.register_script(_RECORD)

    def outcomes_key(self, version: str) -> str:
        return f"{self.prefix}:fb:outcomes:{version}"

    def catch_up(self, *, chunk: int = INDEX_CHUNK, max_chunks: int = MAX_INDEX_CHUNKS) -> int:
        """Index the log entries appended since the last call; returns how many were read."""
        total = 0
        for _ in range(max_chunks):
            n = int(
                _guard(
                    self._index,
                    keys=[self.prediction_log, self.cursor_key],
                    args=[chunk, f"{self.prefix}:", self.retention],
                )
            )
            total += n
            if n < chunk:
                break
        return total

    def record(self, items: list[tuple[str, str]], now: float | None = None) -> FeedbackResult:
        """Join each (prediction_id, actual) to its prediction and record it once."""
        now = time.time() if now is None else now
        first = int((now - self.retention) // DAY_SECONDS) - 1
        days = list(range(first, int(now // DAY_SECONDS) + 1))
        args: list[Any] = [
            f"{self.prefix}:",
            self.retention,
            self.max_labelled,
            repr(now),
            len(days),
            *days,
        ]
        for prediction_id, actual in items:
            args += [prediction_id, actual]
        accepted, duplicate, unknown, versions = _guard(
            self._record, keys=[self.versions_key], args=args
        )
        return FeedbackResult(
            accepted=int(accepted),
            duplicate=int(duplicate),
            unknown_ids=[_text(u) for u in unknown],
            model_versions=sorted(_text(v) for v in versions),
        )

    def versions(self) -> list[str]:
        """Model versions that have received feedback."""
        return sorted(_text(v) for v in _guard(self.redis.smembers, self.versions_key))

    def labelled(self, version: str, limit: int) -> list[Outcome]:
        """The version's most recent labelled outcomes (newest first), at most ``limit``."""
        raw = _guard(self.redis.lrange, self.outcomes_key(version), 0, max(0, limit - 1))
        return [parse_outcome(item) for item in raw]


def parse_outcome(raw: bytes | str) -> Outcome:
    text = _text(raw)
    head, _, found = text.partition("\n")
    prediction_id, actual, received = json.loads(head)
    version, prediction, probabilities, ts = json.loads(found)
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
