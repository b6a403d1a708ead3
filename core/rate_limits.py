"""Per-key request rate limits: a token bucket in Redis, shared by every web process and host.

Each API key has a bucket of ``quota`` requests that refills at ``rate`` requests per
second; a request takes one, and a request finding the bucket empty is refused. The
bucket is one Redis string (when it is next full) updated by one script
(``core/scripts/rate_limit.lua``, the GCRA form of a token bucket) that answers
everything the HTTP headers need: at most one round trip per request.

A fast key's requests are taken a few at a time: a web process takes as many as it
spent in its previous ``LEASE_SECONDS`` (doubling while it runs out, at least as many as
its requests waiting for them, up to ``rate x LEASE_SECONDS`` and never more than a
tenth of the bucket) and spends them locally for ``LEASE_SECONDS``, so a key sending
1,000 requests/s costs each process a round trip every ~20 requests rather than every one
(one round trip per request cost the throughput bench 28 %: ``python -m bench limits``).
Every request spent was taken from the shared bucket first, at most ``LEASE_SECONDS``
(and a round trip) before; the few a process took and did not spend in time are lost to
the key. While one request of a key asks Redis, that key's other requests in the process
wait for its answer instead of asking too (32 requests arriving together at a spent lease
were 32 round trips). A key slower than ``1 / LEASE_SECONDS`` requests/s is checked
request by request.

A refusal holds until its ``Retry-After``: the bucket only empties meanwhile (every
process only takes from it), so the process refuses the key's requests until then
without asking Redis; a client that ignores ``Retry-After`` costs no round trips.

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
from functools import cached_property

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

    @cached_property
    def window(self) -> int:
        """Seconds an empty bucket takes to refill: the burst, or one request's worth."""
        return max(self.burst_seconds, math.ceil(1 / self.rate))

    @cached_property
    def quota(self) -> int:
        """Requests a full bucket holds (``quota / window`` never exceeds ``rate``)."""
        return max(1, math.floor(self.rate * self.window))

    def lease(self, seconds: float) -> int:
        """Requests a process takes at once: ``seconds`` of the rate, within the bucket."""
        return max(1, min(math.floor(self.rate * seconds), self.quota // LEASE_SHARE))

    @cached_property
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
    """What this process last learnt of a key's bucket: requests it took and has not spent
    yet, or the refusal that holds until ``retry_at``."""

    policy: Policy
    size: int  # requests taken
    left: int
    expires: float  # time.monotonic()
    bucket_left: int  # what the shared bucket held once they were taken
    full_at: float  # time.monotonic() at which the shared bucket is full again
    retry_at: float = 0.0  # time.monotonic() before which the bucket refuses (0: taken)

    def spend(self, now: float) -> Decision | None:
        """A decision without asking Redis, if this lease still holds one."""
        if self.left > 0 and now < self.expires:
            self.left -= 1
            return Decision(True, self.bucket_left + self.left, self.full_at - now, 0.0)
        if now < self.retry_at:
            return Decision(False, 0, self.full_at - now, self.retry_at - now)
        return None


class RateLimiter:
    """Takes requests from API keys' buckets in Redis (a few at once for fast keys)."""

    def __init__(
        self, client: redis.Redis, keys: Keys | None = None, lease_seconds: float = LEASE_SECONDS
    ) -> None:
        self.keys = keys or Keys()
        self.lease_seconds = lease_seconds
        self._take = client.register_script(scripts.source("rate_limit"))
        self._leases: dict[str, _Lease] = {}
        self._asking: dict[str, threading.Event] = {}  # keys whose bucket a request is reading
        self._waiting: dict[str, int] = {}  # ... and how many requests wait for its answer
        self._lock = threading.Lock()

    def take(self, key_id: str, policy: Policy) -> Decision:
        """Take one request from ``key_id``'s bucket; a lost Redis is 503.

        Answered here while the process holds requests of the key, or a refusal that has
        not run out (the bucket refuses until then whatever the other processes do: they
        only take from it). Otherwise one request asks Redis while the key's other requests
        in this process wait for its answer, rather than each asking at once.
        """
        most = policy.lease(self.lease_seconds)
        while True:
            now = time.monotonic()
            with self._lock:
                lease = self._leases.get(key_id)
                if lease is not None and lease.policy != policy:
                    lease = None
                decided = lease.spend(now) if lease is not None else None
                if decided is not None:
                    return decided
                asking = self._asking.get(key_id) if most > 1 else None
                if asking is None:
                    if most > 1:
                        self._asking[key_id] = threading.Event()
                    # enough for the requests waiting now too, as far as a lease goes
                    waiting = self._waiting.get(key_id, 0)
                    want = max(_next_size(lease, most), min(most, waiting + 1))
                    break
                self._waiting[key_id] = self._waiting.get(key_id, 0) + 1
            asking.wait()  # another request is asking Redis: its answer may serve this one
            with self._lock:
                if self._waiting[key_id] == 1:
                    del self._waiting[key_id]
                else:
                    self._waiting[key_id] -= 1
        try:
            return self._ask(key_id, policy, want, most, now)
        finally:
            if most > 1:
                with self._lock:
                    self._asking.pop(key_id).set()

    def _ask(self, key_id: str, policy: Policy, want: int, most: int, now: float) -> Decision:
        try:
            taken, left, reset_us, retry_us = self._take(
                keys=[self.keys.rate_limit(key_id)],
                args=[policy.interval_us, policy.quota, want],
            )
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise BrokerUnavailable("Redis cannot be reached; retry later") from exc
        taken = int(taken)
        reset, retry = int(reset_us) / MICROSECONDS, int(retry_us) / MICROSECONDS
        if most > 1 or not taken:  # a fast key's requests taken ahead, or a refusal
            # a lease runs from its answer (a busy process may read it late); ``now`` was
            # read before asking, so a refusal ends no later than Redis's clock says
            self._keep(
                key_id,
                _Lease(
                    policy,
                    taken,
                    max(0, taken - 1),
                    time.monotonic() + self.lease_seconds,
                    int(left),
                    now + reset,
                    now + retry if not taken else 0.0,
                ),
            )
        return Decision(
            allowed=taken > 0,
            remaining=int(left) + max(0, taken - 1),
            reset_seconds=reset,
            retry_after_seconds=retry,
        )

    def _keep(self, key_id: str, lease: _Lease) -> None:
        with self._lock:
            if len(self._leases) >= MAX_LEASES:
                now = time.monotonic()
                self._leases = {
                    k: v for k, v in self._leases.items() if max(v.expires, v.retry_at) > now
                }
            self._leases[key_id] = lease
