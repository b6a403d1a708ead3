"""The web's short trust in keys it has verified, against a real Redis."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from core.apikeys import KeyStore
from core.keys import Keys
from devsupport import RedisServer
from tests.conftest import new_db
from web.auth import VerifiedKeys

KEYS = Keys("test-verified")
TTL = 0.2  # seconds a verified key is trusted in these tests
PAUSE_MS = 300  # Redis holds writes this long while the concurrent requests arrive


@pytest.fixture(scope="module")
def client(redis_server: RedisServer) -> redis.Redis:
    return redis_server.client(new_db())


@pytest.fixture(scope="module")
def store(client: redis.Redis) -> KeyStore:
    return KeyStore(client, KEYS)


def script_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(stats.get(f"cmdstat_{name}", {}).get("calls", 0) for name in ("evalsha", "eval"))


def test_a_revoked_key_is_refused_once_its_trust_runs_out(store: KeyStore) -> None:
    key, token = store.create(name="t", tenant="acme", scopes=frozenset({"read"}))
    verified = VerifiedKeys(store, TTL)
    first = verified.lookup(token)
    assert first is not None
    assert not first.revoked
    store.revoke(key.id)
    time.sleep(TTL)
    again = verified.lookup(token)
    assert again is not None
    assert again.revoked


def test_concurrent_requests_with_one_token_wait_for_one_lookup(
    store: KeyStore, client: redis.Redis
) -> None:
    _, token = store.create(name="t", tenant="acme", scopes=frozenset({"read"}))
    verified = VerifiedKeys(store, 60.0)
    requests = 8
    started = threading.Barrier(requests + 1)

    def lookup() -> str | None:
        started.wait()
        found = verified.lookup(token)
        return found.tenant if found else None

    before = script_calls(client)
    client.client_pause(PAUSE_MS, all=False)  # the first lookup waits for Redis
    with ThreadPoolExecutor(requests) as pool:
        futures = [pool.submit(lookup) for _ in range(requests)]
        started.wait()
        tenants = [f.result() for f in futures]
    assert tenants == ["acme"] * requests
    assert script_calls(client) - before == 1
