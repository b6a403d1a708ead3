"""``python -m bench.rate_limit_cost``: what the rate limit adds to a request, in Redis terms.

Against a private redis-server: the time of one ``RateLimiter.take`` checked request by
request beside one ``PING`` (a bare round trip: the floor of any Redis call), the same
with leases (as the web takes a fast key's requests: 1,000/s here, calls cycling over 64
keys), and the round trips each costs (replies read by the client's connections).
When the ``limits`` package (flask-limiter's storage layer) is importable, its sliding
window's ``hit`` + ``get_window_stats`` (what the ``RateLimit`` headers need) is
measured the same way, for comparison; it is not a dependency (``pip install --target
DIR limits`` and ``PYTHONPATH=DIR``). Prints one JSON object.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Callable
from typing import Any

import redis

from bench.subproc import print_on_private_redis
from core.keys import Keys
from core.rate_limits import Policy, RateLimiter

CALLS = 5_000  # timed calls of each kind
WARMUP_CALLS = 200
KEYS = 64  # API keys the calls cycle through


def _timed(fn: Callable[[int], object]) -> float:
    """Mean microseconds of ``fn(i)`` over CALLS calls, after a warm-up."""
    for i in range(WARMUP_CALLS):
        fn(i)
    t0 = time.perf_counter()
    for i in range(CALLS):
        fn(i)
    return round((time.perf_counter() - t0) / CALLS * 1e6, 1)


class CountingConnection(redis.Connection):
    """A connection that counts the replies it reads: one per round trip."""

    replies = 0

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        CountingConnection.replies += 1
        return super().read_response(*args, **kwargs)


def counting_pool(url: str) -> redis.ConnectionPool:
    return redis.ConnectionPool.from_url(url, connection_class=CountingConnection)


def _round_trips(fn: Callable[[int], object]) -> float:
    """Round trips to Redis per call of ``fn`` (its client on a :func:`counting_pool`)."""
    before = CountingConnection.replies
    for i in range(100):
        fn(i)
    return (CountingConnection.replies - before) / 100


def _limits_library(url: str) -> Callable[[int], object] | None:
    if importlib.util.find_spec("limits") is None:
        return None
    from limits import RateLimitItemPerSecond, storage, strategies

    store = storage.RedisStorage(url, connection_pool=counting_pool(url))
    limiter = strategies.SlidingWindowCounterRateLimiter(store)
    item = RateLimitItemPerSecond(1_000_000)

    def hit_and_stats(i: int) -> object:
        limiter.hit(item, f"k{i % KEYS}")
        return limiter.get_window_stats(item, f"k{i % KEYS}")

    return hit_and_stats


def measure(url: str) -> dict[str, Any]:
    client = redis.Redis(connection_pool=counting_pool(url))
    limiter = RateLimiter(client, Keys("bench"), lease_seconds=0)  # one request at a time
    leasing = RateLimiter(client, Keys("bench-leased"))  # as the web runs it
    policy = Policy(1_000.0, 2)  # never refused here: every call takes the same path

    def take(i: int) -> object:
        return limiter.take(f"k{i % KEYS}", policy)

    def take_leased(i: int) -> object:
        return leasing.take(f"k{i % KEYS}", policy)

    def ping(_i: int) -> object:
        return client.ping()

    figures: dict[str, Any] = {
        "calls": CALLS,
        "ping_us": _timed(ping),
        "take_us": _timed(take),
        "take_round_trips": _round_trips(take),
    }
    figures["take_over_ping"] = round(figures["take_us"] / figures["ping_us"], 2)
    figures["take_leased_us"] = _timed(take_leased)
    figures["take_leased_round_trips"] = _round_trips(take_leased)
    library = _limits_library(url)
    if library is not None:
        figures["limits_hit_and_stats_us"] = _timed(library)
        figures["limits_hit_and_stats_round_trips"] = _round_trips(library)
        figures["limits_over_take"] = round(
            figures["limits_hit_and_stats_us"] / figures["take_us"], 2
        )
    return figures


def main() -> int:
    return print_on_private_redis(measure, "lifeboat-ratelimit-")


if __name__ == "__main__":
    sys.exit(main())
