"""Per-key rate limits against real gunicorn (2 workers) and a real Redis.

Each test makes its own API keys in the stack's key store (through the API they would
be rate limited too). The default limit is so slow to refill (one request every
1,000 s, bursts of 10) that nothing refills during a test. The web is served with
``devsupport.stand_in_auth``'s hook only for its ``X-Stand-In-Worker`` header (which
gunicorn worker answered).
"""

from __future__ import annotations

import http.client
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import stores
from core.settings import Settings
from devsupport import (
    LOOPBACK,
    STAND_IN_AUTH_APP,
    RedisServer,
    Stack,
    free_port,
    http_ok,
    make_stack,
    start,
    wait_until,
    web_command,
)
from devsupport.stand_in_auth import WORKER_HEADER
from tests.conftest import new_db

pytestmark = pytest.mark.integration

RATE = 0.001  # requests per second of a key without its own rate: one every 1,000 s
BURST_SECONDS = 10_000  # so a key's bucket holds RATE x BURST_SECONDS = 10 requests
QUOTA = 10
INTERVAL = 1_000  # seconds one request takes to refill
LIMITED = "/api/v1/models"  # a limited operation that needs neither Redis nor a worker
MAX_CONNECTIONS = 1_000  # connections opened, at most, to find both gunicorn workers
# seconds a refusal is held (the stack sets none: the default)
REFUSAL_DELAY = Settings.model_fields["rate_limit_refusal_delay_seconds"].default


@pytest.fixture(scope="module")
def limited_stack(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    s = make_stack(
        redis_server,
        new_db(),
        models_dir,
        tmp_path_factory.mktemp("rate-limits"),
        LIFEBOAT_RATE_LIMIT_PER_SECOND=str(RATE),
        LIFEBOAT_RATE_LIMIT_BURST_SECONDS=str(BURST_SECONDS),
    )
    s.start_web(STAND_IN_AUTH_APP)
    yield s
    s.stop_all()


class Key:
    """A real API key of its own tenant, with every scope but admin and monitor."""

    def __init__(self, stack: Stack, rate: float | None = None) -> None:
        store = stores.api_keys(Settings(), stack.redis)
        limits = {} if rate is None else {"rate_limit_per_second": rate}
        record, token = store.create(
            name="rate-limit test",
            tenant=f"t-{uuid.uuid4().hex[:8]}",
            scopes=frozenset({"predict", "read", "batch", "report", "feedback", "metrics"}),
            **limits,
        )
        self.id = record.id
        self.headers = {"Authorization": f"Bearer {token}"}


def connect(stack: Stack) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(LOOPBACK, int(stack.env["LIFEBOAT_WEB_PORT"]), timeout=10)


def get(
    conn: http.client.HTTPConnection, path: str, headers: dict[str, str]
) -> http.client.HTTPResponse:
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    resp.read()
    return resp


def one_connection_per_worker(stack: Stack) -> list[http.client.HTTPConnection]:
    """Two keep-alive connections, each held by a different gunicorn worker."""
    by_worker: dict[str, http.client.HTTPConnection] = {}
    opened = []
    for _ in range(MAX_CONNECTIONS):
        conn = connect(stack)
        opened.append(conn)
        pid = get(conn, "/health", {}).getheader(WORKER_HEADER)
        by_worker.setdefault(pid, conn)
        if len(by_worker) == 2:
            return list(by_worker.values())
    raise AssertionError(f"{MAX_CONNECTIONS} connections all reached one gunicorn worker")


def test_one_limit_holds_across_both_gunicorn_workers(limited_stack: Stack) -> None:
    conns = one_connection_per_worker(limited_stack)
    key = Key(limited_stack).headers
    statuses = [get(conns[i % 2], LIMITED, key).status for i in range(2 * QUOTA)]
    assert statuses == [200] * QUOTA + [429] * QUOTA


def test_one_limit_holds_across_two_web_servers_on_one_redis(limited_stack: Stack) -> None:
    """As two hosts would: a second gunicorn (its own port) beside the stack's."""
    env = {**limited_stack.env, "LIFEBOAT_WEB_PORT": str(free_port())}
    second = start("web-2", web_command(), env, limited_stack.logdir)
    try:
        port = int(env["LIFEBOAT_WEB_PORT"])
        wait_until(lambda: http_ok(f"http://{LOOPBACK}:{port}/health"), 30, "web-2", second)
        conns = [connect(limited_stack), http.client.HTTPConnection(LOOPBACK, port, timeout=10)]
        key = Key(limited_stack).headers
        statuses = [get(conns[i % 2], LIMITED, key).status for i in range(2 * QUOTA)]
    finally:
        second.stop()
    assert statuses == [200] * QUOTA + [429] * QUOTA


def test_remaining_counts_down_with_each_request(limited_stack: Stack) -> None:
    conn, key = connect(limited_stack), Key(limited_stack).headers
    seen = []
    for _ in range(3):
        resp = get(conn, LIMITED, key)
        seen.append((resp.getheader("RateLimit-Policy"), resp.getheader("RateLimit")))
    policy = f'"per-key";q={QUOTA};w={BURST_SECONDS}'
    assert seen == [
        (policy, f'"per-key";r={QUOTA - 1};t={INTERVAL}'),
        (policy, f'"per-key";r={QUOTA - 2};t={2 * INTERVAL}'),
        (policy, f'"per-key";r={QUOTA - 3};t={3 * INTERVAL}'),
    ]


def test_a_refused_request_is_a_429_problem_with_retry_after_and_ratelimit_headers(
    limited_stack: Stack,
) -> None:
    conn, key = connect(limited_stack), Key(limited_stack)
    key_id = key.id
    for _ in range(QUOTA):
        assert get(conn, LIMITED, key.headers).status == 200
    conn.request("GET", LIMITED, headers=key.headers)
    resp = conn.getresponse()
    body = resp.read().decode()
    assert resp.status == 429
    assert resp.getheader("Content-Type") == "application/problem+json"
    assert f"API key '{key_id}' is limited to {RATE:g} requests per second" in body
    assert resp.getheader("RateLimit-Policy") == f'"per-key";q={QUOTA};w={BURST_SECONDS}'
    remaining, reset = resp.getheader("RateLimit").split(";")[1:]
    assert remaining == "r=0"
    retry_after = int(resp.getheader("Retry-After"))
    # the bucket is full QUOTA intervals after the first request; one more request fits
    # one interval after it: whatever time has passed, the two differ by QUOTA - 1 intervals
    assert int(reset.removeprefix("t=")) - retry_after == (QUOTA - 1) * INTERVAL
    assert 0 < retry_after <= INTERVAL


def two_connections_to_one_worker(stack: Stack) -> list[http.client.HTTPConnection]:
    """Two keep-alive connections held by the same gunicorn worker."""
    by_worker: dict[str, http.client.HTTPConnection] = {}
    for _ in range(MAX_CONNECTIONS):
        conn = connect(stack)
        pid = get(conn, "/health", {}).getheader(WORKER_HEADER)
        if pid in by_worker:
            return [by_worker[pid], conn]
        by_worker[pid] = conn
    raise AssertionError(f"{MAX_CONNECTIONS} connections never met twice on one worker")


def test_a_refusal_is_held_idle_while_the_process_answers_another_key(
    limited_stack: Stack,
) -> None:
    # a flood retried at once must not keep the process busy: its refusal waits without
    # the CPU, and the same gunicorn worker answers another tenant's key meanwhile
    held, free = two_connections_to_one_worker(limited_stack)
    flood, other = Key(limited_stack), Key(limited_stack)
    for _ in range(QUOTA):
        assert get(held, LIMITED, flood.headers).status == 200
    sent = time.monotonic()
    held.request("GET", LIMITED, headers=flood.headers)
    answered = get(free, LIMITED, other.headers)
    other_done = time.monotonic()
    refused = held.getresponse()
    refused.read()
    refused_done = time.monotonic()
    assert (answered.status, refused.status) == (200, 429)
    assert refused_done - sent >= REFUSAL_DELAY
    assert other_done < refused_done  # answered while the refusal was held


def test_a_keys_own_rate_overrides_the_default(limited_stack: Stack) -> None:
    conn = connect(limited_stack)
    fast = Key(limited_stack, rate=2 * RATE).headers
    statuses = [get(conn, LIMITED, fast).status for _ in range(2 * QUOTA + 1)]
    assert statuses == [200] * (2 * QUOTA) + [429]
    policy = get(conn, LIMITED, fast).getheader("RateLimit-Policy")
    assert policy == f'"per-key";q={2 * QUOTA};w={BURST_SECONDS}'


def test_keys_are_limited_apart(limited_stack: Stack) -> None:
    conn, first, second = connect(limited_stack), Key(limited_stack), Key(limited_stack)
    for _ in range(QUOTA):
        get(conn, LIMITED, first.headers)
    assert get(conn, LIMITED, first.headers).status == 429
    assert get(conn, LIMITED, second.headers).status == 200


def test_public_routes_are_not_limited(limited_stack: Stack) -> None:
    conn, key = connect(limited_stack), Key(limited_stack).headers
    for _ in range(QUOTA):
        get(conn, LIMITED, key)
    answers = {}
    for path in ("/health", "/ready", "/docs", "/openapi.json", "/metrics"):
        resp = get(conn, path, key)
        answers[path] = (resp.status, resp.getheader("RateLimit"))
    assert answers == {
        "/health": (200, None),
        "/ready": (503, None),  # no worker in this stack
        "/docs": (200, None),
        "/openapi.json": (200, None),
        "/metrics": (200, None),
    }
    assert get(conn, LIMITED, key).status == 429  # the key itself is used up


def test_redis_down_while_limiting_is_503_with_retry_after(fresh_stack: Stack) -> None:
    fresh_stack.start_web(STAND_IN_AUTH_APP)
    conn, key = connect(fresh_stack), Key(fresh_stack)
    assert get(conn, LIMITED, key.headers).status == 200
    fresh_stack.redis.shutdown(nosave=True)
    conn.request("GET", LIMITED, headers=key.headers)
    resp = conn.getresponse()
    resp.read()
    assert resp.status == 503
    assert resp.getheader("Retry-After") == "5"
    assert resp.getheader("Content-Type") == "application/problem+json"
