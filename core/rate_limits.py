"""Per-key request rate limits: a token bucket in Redis, shared by every web process and host.

Each API key has a bucket of ``quota`` requests that refills at ``rate`` requests per
second; a request takes one, and a request finding the bucket empty is refused. The
bucket is one Redis string (when it is next full) updated by one script
(``core/scripts/rate_limit.lua``, the GCRA form of a token bucket) that answers
everything the HTTP headers need: at most one round trip per request.

A fast key's requests are taken a few at a time: a web process takes as many as it
spent in its previous ``LEASE_SECONDS`` (doubling while it runs out, up to
``rate x LEASE_SECONDS`` and never more than a tenth of the bucket) and spends them
locally for ``LEASE_SECONDS``, so a key sending 1,000 requests/s costs each process a
round trip every ~20 requests rather than every one (one round trip per request cost
the throughput bench 28 %: ``python -m bench limits``). Every request spent was taken
from the shared bucket first, at most ``LEASE_SECONDS`` before; the few a process took
and did not spend in time are lost to the key. A key slower than ``1 / LEASE_SECONDS``
requests/s is checked request by request.

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
import threading
import time
from dataclasses import dataclass

import redis

from core import scripts
from core.errors import BrokerUnavailable
from core.keys import Keys

MICROSECONDS = 1_000_000
LEASE_SECONDS = 0.02  # a web process takes a fast key's requests this far ahead
LEASE_SHARE = 10  # ... and never more than 1/LEASE_SHARE of its bucket at once
MAX_LEASES = 10_000  # leases a process keeps before it drops the expired ones


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

    def lease(self, seconds: float) -> int:
        """Requests a process takes at once: ``seconds`` of the rate, within the bucket."""
        return max(1, min(math.floor(self.rate * seconds), self.quota // LEASE_SHARE))

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


def _next_size(previous: _Lease | None, most: int) -> int:
    """Requests to take: what the previous lease spent, doubled if it ran out, up to ``most``."""
    if previous is None or most == 1:
        return 1
    spent = previous.size - previous.left
    return max(1, min(most, 2 * spent if previous.left == 0 else spent + 1))


@dataclass
class _Lease:
    """Requests of a key this process took from its bucket and has not spent yet."""

    size: int  # requests taken
    left: int
    expires: float  # time.monotonic()
    bucket_left: int  # what the shared bucket held once they were taken
    full_at: float  # time.monotonic() at which the shared bucket is full again


class RateLimiter:
    """Takes requests from API keys' buckets in Redis (a few at once for fast keys)."""

    def __init__(
        self, client: redis.Redis, keys: Keys | None = None, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        self.keys = keys or Keys()
        self.lease_seconds = lease_seconds
        self._take = client.register_script(scripts.source("rate_limit"))
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def take(self, key_id: str, policy: Policy) -> Decision:
        """Take one request from ``key_id``'s bucket; a lost Redis is 503."""
        now = time.monotonic()
        with self._lock:
            lease = self._leases.get(key_id)
            if lease is not None and lease.left > 0 and now < lease.expires:
                lease.left -= 1
                return Decision(True, lease.bucket_left + lease.left, lease.full_at - now, 0.0)
            most = policy.lease(self.lease_seconds)
            want = _next_size(lease, most)
        try:
            taken, left, reset_us, retry_us = self._take(
                keys=[self.keys.rate_limit(key_id)],
                args=[policy.interval_us, policy.quota, want],
            )
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise BrokerUnavailable("Redis cannot be reached; retry later") from exc
        reset = int(reset_us) / MICROSECONDS
        if most > 1:  # a key fast enough to be taken a few requests at a time
            lease = _Lease(
                int(taken), max(0, int(taken) - 1), now + self.lease_seconds, left, now + reset
            )
            self._keep(key_id, lease)
        return Decision(
            allowed=taken > 0,
            remaining=int(left) + max(0, int(taken) - 1),
            reset_seconds=reset,
            retry_after_seconds=int(retry_us) / MICROSECONDS,
        )

    def _keep(self, key_id: str, lease: _Lease) -> None:
        with self._lock:
            if len(self._leases) >= MAX_LEASES:
                now = time.monotonic()
                self._leases = {k: v for k, v in self._leases.items() if v.expires > now}
            self._leases[key_id] = lease
