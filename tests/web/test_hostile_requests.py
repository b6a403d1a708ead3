"""Hostile requests against a real web (gunicorn, one gevent worker): refused fast, others served.

With a single web process, a request that hangs its greenlet without
yielding would hold every other request of the process; each test sends the
hostile request while polling ``/health`` and checks that it was answered
(4xx or 503) within 2 s and that ``/health`` answered meanwhile.
"""

from __future__ import annotations

import contextlib
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from devsupport import (
    RedisServer,
    Stack,
    free_port,
    make_stack,
    redis_binary,
    start,
    wait_until,
)
from tests.conftest import new_db
from tests.payloads import PASSENGER

pytestmark = pytest.mark.integration
BOUND = 2.0  # seconds a hostile request may take to be refused
PARQUET = "application/vnd.apache.parquet"
ROOMY = "64mb"  # the small Redis's maxmemory except while a test fills it


@pytest.fixture(scope="module")
def one_worker_web(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    stack = make_stack(
        redis_server,
        new_db(),
        models_dir,
        tmp_path_factory.mktemp("one-worker"),
        LIFEBOAT_WEB_WORKERS="1",
    )
    stack.start_web()
    yield stack
    stack.stop_all()


def refused_while_serving(stack: Stack, send) -> requests.Response:  # type: ignore[no-untyped-def]
    """Run ``send(timeout)`` in a thread while ``/health`` is polled; its response."""
    got: dict[str, requests.Response] = {}
    thread = threading.Thread(target=lambda: got.setdefault("r", send(BOUND)), daemon=True)
    thread.start()
    health = []
    while thread.is_alive() or not health:
        health.append(requests.get(stack.url("/health"), timeout=BOUND).status_code)
    thread.join()
    assert set(health) == {200}
    return got["r"]


def test_the_24_byte_parquet_file_is_refused_within_2_s(one_worker_web: Stack) -> None:
    footer = bytes([0x1B]) + bytes([0x80] * 8) + b"\x01\x11\x00"  # a map of 2**56 entries
    body = b"PAR1" + footer + struct.pack("<I", len(footer)) + b"PAR1"
    assert len(body) == 24
    r = refused_while_serving(
        one_worker_web,
        lambda timeout: one_worker_web.http.post(
            one_worker_web.url("/api/v1/batches"),
            data=body,
            headers={"Content-Type": PARQUET},
            timeout=timeout,
        ),
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"loc": ["file"], "msg": "a map in the footer is longer than the footer"}
    ]


@pytest.mark.parametrize("depth", [1_000, 200_000])
def test_json_nested_deeply_is_400_within_2_s(one_worker_web: Stack, depth: int) -> None:
    body = b'{"instances": ' + b"[" * depth + b"]" * depth + b"}"
    r = refused_while_serving(
        one_worker_web,
        lambda timeout: one_worker_web.http.post(
            one_worker_web.url("/api/v1/predictions"),
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=timeout,
        ),
    )
    assert r.status_code == 400
    assert r.json()["errors"] == [{"loc": ["body"], "msg": "nested too deeply"}]


def test_a_report_csv_with_a_bare_carriage_return_is_422(one_worker_web: Stack) -> None:
    r = one_worker_web.http.post(
        one_worker_web.url("/api/v1/reports"),
        data={"type": "drift"},
        files={"file": ("x.csv", b"a\rb\n", "text/csv")},
        timeout=10,
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "loc": ["file"],
            "msg": "the header line holds a carriage return that does not end it (bare CR)",
        }
    ]


# --- a Redis that refuses commands -------------------------------------------------------------
@pytest.fixture(scope="module")
def small_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server with no eviction, of 64 MB until a test shrinks it to 1 MB and fills it.

    It starts roomy: the web writes its bootstrap API keys when it starts, which a
    1 MB Redis (all but full when empty) would refuse.
    """
    logdir = tmp_path_factory.mktemp("small-redis")
    port = free_port()
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    args += ["--dir", str(logdir), "--maxmemory", ROOMY, "--maxmemory-policy", "noeviction"]
    args += ["--busy-reply-threshold", "100"]  # ms a script runs before others get BUSY
    proc = start("small-redis", [redis_binary(), *args], {}, logdir)
    server = RedisServer(port, proc)
    wait_until(lambda: server.client().ping(), 10, "redis", proc)
    yield server
    proc.stop()


@pytest.fixture(scope="module")
def web_on_small_redis(
    small_redis: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    stack = make_stack(
        small_redis, 0, models_dir, tmp_path_factory.mktemp("small"), LIFEBOAT_WEB_WORKERS="1"
    )
    stack.start_web()
    yield stack
    stack.stop_all()


def predict(stack: Stack, timeout: float) -> requests.Response:
    return stack.http.post(
        stack.url("/api/v1/predictions"), json={"instances": [PASSENGER]}, timeout=timeout
    )


def assert_503_retry_later(r: requests.Response) -> None:
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "5"
    assert r.headers["Content-Type"] == "application/problem+json"


def submit_batch(stack: Stack, timeout: float) -> requests.Response:
    body = (
        "pclass,sex,age,sibsp,parch,fare,embarked\n" + "1,female,29,0,0,211.34,S\n" * 5
    ).encode()
    return stack.http.post(
        stack.url("/api/v1/batches"),
        data=body,
        headers={"Content-Type": "text/csv"},
        timeout=timeout,
    )


def submit_report(stack: Stack, timeout: float) -> requests.Response:
    return stack.http.post(
        stack.url("/api/v1/reports"),
        json={"type": "drift", "window": {"last": 1000}},
        timeout=timeout,
    )


def submit_idempotent(stack: Stack, timeout: float) -> requests.Response:
    return stack.http.post(
        stack.url("/api/v1/predictions"),
        json={"instances": [PASSENGER]},
        headers={"Idempotency-Key": f"full-{free_port()}-{threading.get_ident()}"},
        timeout=timeout,
    )


# every way to make a job: each writes to Redis, which a full one refuses
SUBMISSIONS = {
    "prediction": predict,
    "prediction with an Idempotency-Key": submit_idempotent,
    "batch": submit_batch,
    "drift report": submit_report,
}


@contextlib.contextmanager
def full(client: redis.Redis) -> Iterator[None]:
    """Redis at its maxmemory (1 MB, noeviction), filled by keys of ours; then roomy again."""
    client.config_set("maxmemory", "1mb")
    filler = "x" * 10_000
    fillers = [f"filler:{i}" for i in range(200)]
    pipe = client.pipeline(transaction=False)
    for key in fillers:  # 2 MB into 1 MB
        pipe.set(key, filler)
    try:
        with pytest.raises(redis.exceptions.OutOfMemoryError):
            pipe.execute()
        yield
    finally:
        client.delete(*fillers)  # not a flush: the API keys stay
        client.config_set("maxmemory", ROOMY)  # an empty 1 MB Redis is all but full


@pytest.mark.parametrize("submission", list(SUBMISSIONS))
def test_a_full_redis_refuses_a_submission_with_503_and_takes_it_once_memory_frees(
    web_on_small_redis: Stack, submission: str
) -> None:
    submit = SUBMISSIONS[submission]
    with full(web_on_small_redis.redis):  # the web has started and made its API keys
        r = refused_while_serving(web_on_small_redis, lambda t: submit(web_on_small_redis, t))
        assert_503_retry_later(r)  # refused writing the job, or publishing it (then undone)
    # the web recovers by itself
    assert submit(web_on_small_redis, 10).status_code == 202


def test_a_read_only_replica_is_503(web_on_small_redis: Stack) -> None:
    client = web_on_small_redis.redis
    client.replicaof("127.0.0.1", str(free_port()))  # a master that never answers
    try:
        r = refused_while_serving(web_on_small_redis, lambda t: predict(web_on_small_redis, t))
        assert_503_retry_later(r)
        assert "ReadOnlyError" in r.json()["detail"]
    finally:
        client.replicaof("NO", "ONE")


def test_a_redis_busy_running_a_script_is_503(web_on_small_redis: Stack) -> None:
    client = web_on_small_redis.redis

    def spin() -> None:
        with contextlib.suppress(redis.ResponseError):  # "Script killed by user"
            client.eval("while true do end", 0)

    def busy() -> bool:
        try:
            client.get("anything")
        except redis.ResponseError as exc:
            return str(exc).startswith("BUSY")
        return False

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()
    try:
        wait_until(busy, 10, "the script to make Redis busy")
        r = refused_while_serving(web_on_small_redis, lambda t: predict(web_on_small_redis, t))
        assert_503_retry_later(r)
        assert "BUSY" in r.json()["detail"]
    finally:
        wait_until(client.script_kill, 10, "the script to be killed")
        thread.join(10)
