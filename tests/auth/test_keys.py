"""API keys: shown once, stored as a hash, listed without secrets, revoked within a second."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.keys import Keys
from devsupport import ROOT, KeyedHTTP, Stack

pytestmark = pytest.mark.integration
REVOCATION_SECONDS = 1.0  # how soon every web process must refuse a revoked key


def every_value(stack: Stack) -> bytes:
    """Every key name and value of the stack's Redis database, as one blob."""
    r = stack.redis
    out = []
    for name in r.scan_iter(count=1000):
        kind = r.type(name)
        out.append(name)
        if kind == b"string":
            out.append(r.get(name) or b"")
        elif kind == b"hash":
            out += [x for pair in r.hgetall(name).items() for x in pair]
        elif kind == b"set":
            out += list(r.smembers(name))
        elif kind == b"zset":
            out += r.zrange(name, 0, -1)
        elif kind == b"list":
            out += r.lrange(name, 0, -1)
        elif kind == b"stream":
            out += [v for _, fields in r.xrange(name) for v in fields.values()]
    return b"\n".join(out)


def test_a_keys_secret_is_never_stored_only_its_hash(stack: Stack) -> None:
    http = stack.make_key("secret-test", "predict", "read")
    assert http.get(stack.url("/api/v1/jobs")).status_code == 200  # used: last_used noted
    stored = every_value(stack)
    assert http.token.encode() not in stored
    digest = hashlib.sha256(http.token.encode()).hexdigest()
    record = stack.redis.hgetall(Keys().api_key(digest))
    assert record[b"id"].decode() == http.key_id
    assert record[b"last_used_at"]
    listed = stack.http.get(stack.url("/api/v1/keys")).json()["keys"]
    mine = next(k for k in listed if k["id"] == http.key_id)
    assert "token" not in mine
    assert http.token not in str(listed)
    assert mine["scopes"] == ["predict", "read"]


def test_a_revoked_key_is_refused_by_every_web_process_within_a_second(stack: Stack) -> None:
    http = stack.make_key("revoke-test", "read")
    url = stack.url("/api/v1/jobs")

    def call(_: int) -> int:  # a new connection each time: both gunicorn workers answer
        return http.get(url, headers={"Connection": "close"}).status_code

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(call, range(64))) == {200}  # every worker has it cached
        r = stack.http.delete(stack.url(f"/api/v1/keys/{http.key_id}"))
        revoked_at = time.monotonic()
        assert (r.status_code, r.json()["revoked"]) == (200, True)
        time.sleep(max(0.0, revoked_at + REVOCATION_SECONDS - time.monotonic()))
        answers = list(pool.map(call, range(64)))
    assert set(answers) == {401}
    refused = http.get(url)
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="lifeboat"'
    assert refused.json()["detail"] == "this API key has been revoked"


def test_a_key_cannot_revoke_itself_and_an_unknown_key_id_is_404(stack: Stack) -> None:
    admin = stack.make_key("ops", "admin")
    own = admin.delete(stack.url(f"/api/v1/keys/{admin.key_id}"))
    assert own.status_code == 409
    assert stack.http.delete(stack.url("/api/v1/keys/key_nope")).status_code == 404


def test_the_command_line_makes_a_key_that_works_and_prints_it_once(stack: Stack) -> None:
    command = ["create", "--name", "cli admin", "--tenant", "ops", "--scopes", "admin"]
    made = subprocess.run(
        [sys.executable, "-m", "core.apikeys", *command],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    token = made.stdout.strip()
    assert token.startswith("lb_")
    assert token not in made.stderr
    assert KeyedHTTP(token).get(stack.url("/api/v1/keys")).status_code == 200
