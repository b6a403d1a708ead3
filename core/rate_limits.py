"""Per-key request rate limits: a token bucket in Redis, shared by every web process and host.

Each API key has a bucket of ``quota`` requests that refills at ``rate`` requests per
second; a request takes one, and a request finding the bucket empty is refused. The
bucket is one Redis string (when it is next full) updated by one script
(``core/scripts/rate_limit.lua``, the GCRA form of a token bucket) that answers
everything the HTTP headers need: one round trip per request.

Written here rather than taken from ``limits`` (flask-limiter's storage layer): its
strategies count whole requests per whole window (no fractional rates such as 0.5/s,
no burst beside the rate), and the state the ``RateLimit`` headers need is a second
round trip after ``hit()`` (``get_window_stats``). Measured with
``python -m bench.rate_limit_cost`` (limits 5.8.0, private Redis, 4 runs on 2 busy
cores): its sliding window's ``hit`` + ``get_window_stats`` took 2 round trips and
1.6-2.4x the time of this script's one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import redis

from core import scripts
from core.errors import BrokerUnavailable
from core.keys import Keys

MICROSECONDS = 1_000_000


@dataclass(frozen=True)
class Policy:
    """A key's limit: ``rate`` requests per second sustained, bursts of ``burst_seconds``."""

    rate: float
    burst_seconds: int

    def __post_init__(self) -> None:
        if not (self.rate > 0 and math.isfinite(self.rate)) or self.burst_seconds < 1:
            raise ValueError(f"a rate limit needs a positive rate and burst, not {self}")

    @property
    def window(self) -> int:
        """Seconds an empty bucket takes to refill: the burst, or one request's worth."""
        return max(self.burst_seconds, math.ceil(1 / self.rate))

    @property
    def quota(self) -> int:
        """Requests a full bucket holds (``quota / window`` never exceeds ``rate``)."""
        return max(1, math.floor(self.rate * self.window))

    @property
    def interval_us(self) -> int:
        """Microseconds in which the bucket refills one request."""
        return max(1, round(MICROSECONDS / self.rate))


@dataclass(frozen=True)
class Decision:
    """What taking one request from a bucket found."""

    allowed: bool
    remaining: int
    """Requests the bucket still holds."""
    reset_seconds: float
    """Seconds until the bucket is full again."""
    retry_after_seconds: float
    """Seconds until a request would be allowed (0 when this one was)."""


class RateLimiter:
    """Takes requests from API keys' buckets in Redis."""

    def __init__(self, client: redis.Redis, keys: Keys | None = None) -> None:
        self.keys = keys or Keys()
        self._take = client.register_script(scripts.source("rate_limit"))

    def take(self, key_id: str, policy: Policy) -> Decision:
        """Take one request from ``key_id``'s bucket; a lost Redis is 503."""
        try:
            allowed, remaining, reset_us, retry_us = self._take(
                keys=[self.keys.rate_limit(key_id)], args=[policy.interval_us, policy.quota]
            )
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise BrokerUnavailable("Redis cannot be reached; retry later") from exc
        return Decision(
            allowed=bool(allowed),
            remaining=int(remaining),
            reset_seconds=int(reset_us) / MICROSECONDS,
            retry_after_seconds=int(retry_us) / MICROSECONDS,
        )
