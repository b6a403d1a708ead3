"""The token bucket behind per-key rate limits, called directly against a real Redis."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from core.keys import Keys
from core.rate_limits import Policy, RateLimiter
from devsupport import RedisServer
from tests.conftest import new_db

KEYS = Keys("test-limits")
PAUSE_MS = 300  # Redis holds writes this long while the concurrent requests arrive


@pytest.fixture(scope="module")
def client(redis_server: RedisServer) -> redis.Redis:
    return redis_server.client(new_db())


@pytest.fixture(scope="module")
def limiter(client: redis.Redis) -> RateLimiter:
    return RateLimiter(client, KEYS)


@pytest.mark.parametrize(
    ("rate", "burst_seconds", "quota", "window"),
    [
        (100.0, 2, 200, 2),  # the default: two seconds' worth at once
        (2.5, 2, 5, 2),
        (3.3, 2, 6, 2),  # never advertise more than the rate: 6 in 2 s, not 7
        (0.5, 1, 1, 2),  # slower than one a second: one request, its own interval
        (0.001, 10_000, 10, 10_000),
    ],
)
def test_a_policy_states_its_bucket_as_quota_per_window(
    rate: float, burst_seconds: int, quota: int, window: int
) -> None:
    policy = Policy(rate, burst_seconds)
    assert (policy.quota, policy.window) == (quota, window)


@pytest.mark.parametrize("rate", [0.0, -1.0, float("inf"), float("nan")])
def test_a_policy_needs_a_positive_finite_rate(rate: float) -> None:
    with pytest.raises(ValueError, match="positive rate"):
        Policy(rate, 2)


def test_a_full_bucket_allows_its_quota_then_refuses(limiter: RateLimiter) -> None:
    policy = Policy(0.001, 3_000)  # 3 requests, one refilled every 1,000 s
    decisions = [limiter.take("full", policy) for _ in range(4)]
    assert [(d.allowed, d.remaining) for d in decisions] == [
        (True, 2),
        (True, 1),
        (True, 0),
        (False, 0),
    ]
    assert decisions[0].retry_after_seconds == 0
    assert 0 < decisions[3].retry_after_seconds <= 1_000


def test_the_bucket_refills_by_the_time_retry_after_said(limiter: RateLimiter) -> None:
    policy = Policy(5.0, 1)  # 5 requests, one refilled every 0.2 s
    while (decision := limiter.take("refill", policy)).allowed:
        pass
    assert 0 < decision.retry_after_seconds <= 0.2
    time.sleep(decision.retry_after_seconds)
    assert limiter.take("refill", policy).allowed


def test_a_refused_request_costs_nothing(limiter: RateLimiter) -> None:
    policy = Policy(0.001, 1_000)  # one request
    assert limiter.take("refused", policy).allowed
    first, second = limiter.take("refused", policy), limiter.take("refused", policy)
    assert (first.allowed, second.allowed) == (False, False)
    assert second.reset_seconds <= first.reset_seconds


def test_a_bucket_expires_when_it_is_full_again(limiter: RateLimiter, client: redis.Redis) -> None:
    limiter.take("expiring", Policy(0.001, 1_000))  # one request, refilled in 1,000 s
    assert 0 < client.pttl(KEYS.rate_limit("expiring")) <= 1_000_000


def test_requests_taken_ahead_by_two_processes_never_exceed_the_quota(
    client: redis.Redis,
) -> None:
    policy = Policy(0.001, 100_000)  # 100 requests; nothing refills during the test
    first, second = (RateLimiter(client, KEYS, lease_seconds=20_000) for _ in range(2))
    assert policy.lease(first.lease_seconds) == 10  # a tenth of the bucket at a time
    allowed = [
        limiter.take("leased", policy).allowed for _ in range(110) for limiter in (first, second)
    ]
    assert sum(allowed) == 100
    assert allowed[-2:] == [False, False]


def test_a_process_takes_more_at_once_while_it_runs_out(client: redis.Redis) -> None:
    limiter = RateLimiter(client, KEYS, lease_seconds=20_000)
    policy = Policy(0.001, 100_000)  # up to 10 at a time
    for _ in range(1 + 2 + 4 + 8):  # leases of 1, 2, 4 and 8 requests
        limiter.take("ramp", policy)
    other = RateLimiter(client, KEYS, lease_seconds=20_000)
    assert other.take("ramp", policy).remaining == 100 - 15 - 1


def test_a_leased_request_reports_what_the_key_has_left(client: redis.Redis) -> None:
    limiter = RateLimiter(client, KEYS, lease_seconds=20_000)
    policy = Policy(0.001, 100_000)
    remaining = [limiter.take("leased-left", policy).remaining for _ in range(12)]
    assert remaining == list(range(99, 87, -1))


def script_calls(client: redis.Redis) -> int:
    """Scripts this Redis server has run (every limit check is one)."""
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval"))


def test_a_refusal_is_answered_without_redis_until_its_retry_after(
    limiter: RateLimiter, client: redis.Redis
) -> None:
    policy = Policy(0.001, 1_000)  # one request, refilled in 1,000 s
    assert limiter.take("refusal-held", policy).allowed
    first = limiter.take("refusal-held", policy)
    before = script_calls(client)
    later = [limiter.take("refusal-held", policy) for _ in range(5)]
    assert script_calls(client) == before
    assert [d.allowed for d in later] == [False] * 5
    assert all(0 < d.retry_after_seconds <= first.retry_after_seconds for d in later)
    assert later[-1].reset_seconds - later[-1].retry_after_seconds == pytest.approx(
        first.reset_seconds - first.retry_after_seconds
    )


def test_concurrent_requests_of_a_key_wait_for_one_answer_rather_than_each_asking(
    client: redis.Redis,
) -> None:
    limiter = RateLimiter(client, KEYS, lease_seconds=20_000)
    policy = Policy(0.001, 100_000)  # leases of up to 10 requests
    requests = 8
    started = threading.Barrier(requests + 1)

    def take() -> bool:
        started.wait()
        return limiter.take("together", policy).allowed

    before = script_calls(client)
    client.client_pause(PAUSE_MS, all=False)  # the first to ask waits for Redis
    with ThreadPoolExecutor(requests) as pool:
        futures = [pool.submit(take) for _ in range(requests)]
        started.wait()
        allowed = [f.result() for f in futures]
    assert allowed == [True] * requests
    # leases of 1, 2, 4 and 8 requests cover 8 requests; asking each would be 8 scripts
    assert script_calls(client) - before <= 4
