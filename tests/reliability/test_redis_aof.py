"""A Redis SIGKILLed under load and started again on its append-only file, in each fsync mode.

Redis is ``make run``'s private one (:class:`devsupport.PrivateRedis`: a password,
AOF, ``LIFEBOAT_REDIS_APPENDFSYNC``), started by the test beside a web, a worker
and beat; it is SIGKILLed while clients submit, stays down 3 s (the web answers
503 meanwhile) and is started again on the same port and folder. A process crash
loses nothing Redis wrote to its file before answering, whichever the mode: with
``everysec`` every job whose 202 came more than 1 s before the kill must finish
(what the mode promises), with ``always`` every job that got a 202.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from core.keys import Keys
from devsupport import LOOPBACK, PrivateRedis, Proc, Stack, free_port, stack_env, start, wait_until
from tests.batches.helpers import finished, result, rows, to_csv, upload
from tests.batches.test_batch_api import SMALL_PARTS
from tests.payloads import passengers

pytestmark = pytest.mark.integration

CLIENTS = 4  # threads submitting prediction jobs
PAUSE = 0.02  # seconds between two submissions of one client
LOAD_BEFORE = 4.0  # seconds of load before the kill
DOWN_SECONDS = 3.0  # how long Redis stays down
LOAD_AFTER = 4.0  # seconds of load after Redis is back
SAFE_BEFORE_KILL = {"everysec": 1.0, "always": 0.0}  # what each mode may lose (machine crash)
FINISH_TIMEOUT = 150.0  # seconds for every such job to finish (the stale-job sweep included)
REDIS_START_TIMEOUT = 30.0  # seconds Redis has to load its file and answer
BATCH_QUEUES = "predictions,batches"
PART_RECEIVED = "Task lifeboat.score_batch_part["  # logged when a worker takes a part


class DurableStack:
    """A web, a worker and beat on a private Redis the test kills and starts again."""

    def __init__(self, tmp_path: Path, models_dir: Path, appendfsync: str, **env_: str) -> None:
        self.private = PrivateRedis(tmp_path / "redis", appendfsync)
        self.port = free_port()
        self.logdir = tmp_path / "logs"
        url = self.private.url(self.port)
        env = stack_env(url, models_dir, tmp_path / "storage", **env_)
        self.stack = Stack(
            env, f"http://{LOOPBACK}:{env['LIFEBOAT_WEB_PORT']}", self.client(), self.logdir
        )
        self.redis: Proc | None = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.private.url(self.port), socket_timeout=10)

    def start_redis(self) -> None:
        self.redis = start("redis", self.private.command(self.port), {}, self.logdir)
        wait_until(self.client().ping, REDIS_START_TIMEOUT, "redis", self.redis)

    def kill_redis(self) -> None:
        assert self.redis is not None
        os.kill(self.redis.popen.pid, signal.SIGKILL)
        self.redis.popen.wait(5)


@contextlib.contextmanager
def running(d: DurableStack, queues: str) -> Iterator[DurableStack]:
    d.start_redis()
    try:
        d.stack.start_worker(concurrency=1, queues=queues)
        d.stack.start_beat()  # re-publishes a job whose message the crash took
        d.stack.start_web()
        yield d
    finally:
        d.stack.stop_all()
        if d.redis:
            d.redis.stop()


@pytest.fixture(params=["everysec", "always"])
def durable(
    request: pytest.FixtureRequest, tmp_path: Path, models_dir: Path
) -> Iterator[DurableStack]:
    with running(DurableStack(tmp_path, models_dir, request.param), "predictions") as d:
        yield d


@pytest.fixture
def durable_batches(tmp_path: Path, models_dir: Path) -> Iterator[DurableStack]:
    # batch parts of a few chunks, 0.3 s apart: a part runs when Redis is killed
    env = {
        **SMALL_PARTS,
        "LIFEBOAT_BATCH_FAULT_DELAY_SECONDS": "0.3",
        # a part whose task died with Redis is taken again once its lease runs out
        "LIFEBOAT_RUNNING_LEASE_SECONDS": "6",
        "LIFEBOAT_LEASE_SWEEP_SECONDS": "1",
    }
    with running(DurableStack(tmp_path, models_dir, "everysec", **env), BATCH_QUEUES) as d:
        yield d


def submit_until(stack: Stack, stop: threading.Event, accepted: list[tuple[str, float]]) -> None:
    """One client: submit jobs until ``stop``; keep (id, when the answer came) of each accepted."""
    session = requests.Session()
    session.headers.update(stack.http.headers)
    while not stop.is_set():
        try:
            r = session.post(
                stack.url("/api/v1/predictions"), json={"instances": passengers(1)}, timeout=10
            )
            if r.ok:
                accepted.append((r.json()["id"], time.time()))
        except requests.RequestException:
            pass  # a connection broken by the crash
        time.sleep(PAUSE)


def test_a_redis_crash_loses_no_job_its_fsync_mode_promises_to_keep(durable: DurableStack) -> None:
    mode = durable.private.appendfsync
    accepted: list[tuple[str, float]] = []
    stop = threading.Event()
    clients = [
        threading.Thread(target=submit_until, args=(durable.stack, stop, accepted))
        for _ in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    time.sleep(LOAD_BEFORE)
    killed_at = time.time()
    durable.kill_redis()
    time.sleep(DOWN_SECONDS)
    durable.start_redis()
    time.sleep(LOAD_AFTER)
    stop.set()
    for client in clients:
        client.join()

    kept = [job_id for job_id, at in accepted if at < killed_at - SAFE_BEFORE_KILL[mode]]
    assert len(kept) > 100  # the load was real
    keys = Keys()
    client = durable.client()

    def statuses() -> dict[str, int]:
        pipe = client.pipeline(transaction=False)
        for job_id in kept:
            pipe.hget(keys.job(job_id), "status")
        counts: dict[str, int] = {}
        for status in pipe.execute():
            name = (status or b"missing").decode()
            counts[name] = counts.get(name, 0) + 1
        return counts

    wait_until(
        lambda: statuses().keys() == {"succeeded"}, FINISH_TIMEOUT, f"the kept jobs ({mode})"
    )
    assert statuses() == {"succeeded": len(kept)}


def test_a_batch_running_when_redis_crashes_finishes_with_every_row_once(
    durable_batches: DurableStack,
) -> None:
    stack = durable_batches.stack
    records_in = rows(1500)
    job_id = upload(stack, to_csv(records_in), id_column="passenger").json()["id"]
    worker = stack.procs["worker"]
    wait_until(lambda: PART_RECEIVED in worker.output(), 30, "a part running", worker)
    durable_batches.kill_redis()
    time.sleep(DOWN_SECONDS)
    durable_batches.start_redis()
    done = finished(stack, job_id, timeout=FINISH_TIMEOUT)
    assert done["status"] == "succeeded"
    assert [r["passenger"] for r in result(stack, job_id)] == [r["passenger"] for r in records_in]
