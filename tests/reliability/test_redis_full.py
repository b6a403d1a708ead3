"""Redis filling up to its ``maxmemory`` under load: 503s, never a 500, and nothing lost.

A web, a worker and beat share a Redis with ``noeviction`` whose ``maxmemory`` the
test sets a little above what it uses: the load's own jobs (records, results, the
prediction log) fill it, so the web, the worker's scripts and Celery's messages
all meet a full Redis. Every answer is a 202 (or a 200) or a 503 with
``Retry-After``; once ``maxmemory`` is raised (memory frees), submissions are
accepted again and every job that was accepted finishes. Before the worker's
broker transport (``core/broker.py``) took a refused write of its message
bookkeeping as passing, the worker either exited or stopped taking messages.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from core.keys import Keys
from devsupport import RedisServer, Stack, free_port, make_stack, redis_binary, start, wait_until
from tests.payloads import passengers

pytestmark = pytest.mark.integration

ROOMY = "256mb"  # maxmemory while the stack starts and after the test frees memory
HEADROOM = 2 * 1024 * 1024  # bytes above what Redis uses when the load starts
CLIENTS = 4  # threads submitting prediction jobs
INSTANCES = 20  # instances a job: its result is what fills Redis
REFUSALS = 20  # 503s to see before the load stops (Redis is full) …
LOAD_TIMEOUT = 60.0  # … or seconds of load
FINISH_TIMEOUT = 150.0  # seconds for every accepted job to finish (the stale-job sweep included)


@pytest.fixture
def full_stack(models_dir: Path, tmp_path: Path) -> Iterator[Stack]:
    port = free_port()
    args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    args += ["--dir", str(tmp_path), "--maxmemory", ROOMY, "--maxmemory-policy", "noeviction"]
    proc = start("redis", [redis_binary(), *args], {}, tmp_path / "logs")
    server = RedisServer(port, proc)
    wait_until(lambda: server.client().ping(), 10, "redis", proc)
    stack = make_stack(server, 0, models_dir, tmp_path / "stack", LIFEBOAT_WORKER_CONCURRENCY="1")
    try:
        stack.start_worker(concurrency=1, queues="predictions")
        stack.start_beat()  # re-publishes a job whose task could not finish it
        stack.start_web()
        yield stack
    finally:
        stack.stop_all()
        proc.stop()


def submit_until(
    stack: Stack, stop: threading.Event, answers: Counter[int], accepted: list[str], bad: list[str]
) -> None:
    session = requests.Session()
    session.headers.update(stack.http.headers)
    while not stop.is_set():
        r = session.post(
            stack.url("/api/v1/predictions"), json={"instances": passengers(INSTANCES)}, timeout=10
        )
        answers[r.status_code] += 1
        if r.status_code in (200, 202):
            accepted.append(r.json()["id"])
        elif r.status_code != 503 or r.headers.get("Retry-After") != "5":
            bad.append(f"{r.status_code} {r.headers} {r.text[:300]}")
        else:
            time.sleep(0.05)  # as a client honouring Retry-After would, but sooner


def test_a_full_redis_answers_503_never_500_and_loses_no_accepted_job(full_stack: Stack) -> None:
    client = full_stack.redis
    client.config_set("maxmemory", int(client.info("memory")["used_memory"]) + HEADROOM)
    answers: Counter[int] = Counter()
    accepted: list[str] = []
    bad: list[str] = []
    stop = threading.Event()
    clients = [
        threading.Thread(target=submit_until, args=(full_stack, stop, answers, accepted, bad))
        for _ in range(CLIENTS)
    ]
    for c in clients:
        c.start()
    try:
        wait_until(lambda: answers[503] >= REFUSALS, LOAD_TIMEOUT, "Redis to fill up")
    finally:
        stop.set()
        for c in clients:
            c.join()
    assert bad == []
    client.config_set("maxmemory", ROOMY)  # memory frees

    after = full_stack.http.post(
        full_stack.url("/api/v1/predictions"),
        params={"wait": 20},
        json={"instances": passengers(1)},
        timeout=30,
    )
    assert after.status_code == 200, f"{after.text[:500]}\n{full_stack.log_tails()}"
    assert after.json()["status"] == "succeeded"
    keys = Keys()

    def statuses() -> Counter[str]:
        pipe = client.pipeline(transaction=False)
        for job_id in accepted:
            pipe.hget(keys.job(job_id), "status")
        return Counter((s or b"missing").decode() for s in pipe.execute())

    wait_until(lambda: set(statuses()) == {"succeeded"}, FINISH_TIMEOUT, "every accepted job")
    assert statuses() == {"succeeded": len(accepted)}
