"""SIGTERM to a busy worker, beside a second one: nothing lost, nothing waits past the grace."""

from __future__ import annotations

import re
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from core.keys import Keys
from devsupport import Proc, Stack, free_port, wait_until
from tests.batches.helpers import finished, result, rows, to_csv, upload
from tests.batches.test_batch_api import SMALL_PARTS
from tests.payloads import passengers

pytestmark = pytest.mark.integration

GRACE = 10  # LIFEBOAT_WORKER_GRACE_SECONDS of these workers
MARGIN = 5.0  # seconds past the grace period a job or a stopping worker may take
RATE = 200  # prediction jobs submitted per second
CLIENTS = 8  # threads submitting, each at RATE / CLIENTS
LOAD_SECONDS = 8.0  # how long the load lasts; the SIGTERM comes a third of the way in


def start_workers(stack: Stack, n: int) -> list[Proc]:
    return [
        stack.start_worker(
            concurrency=1,
            queues="predictions,batches",
            extra_env={"LIFEBOAT_WORKER_METRICS_PORT": str(free_port())},
        )
        for _ in range(n)
    ]


@pytest.fixture
def two_workers(fresh_stack: Stack) -> Iterator[tuple[Stack, list[Proc]]]:
    # batch parts of a few chunks, 0.3 s apart: a part runs when the SIGTERM comes
    fresh_stack.env.update(
        SMALL_PARTS,
        LIFEBOAT_WORKER_GRACE_SECONDS=str(GRACE),
        LIFEBOAT_BATCH_FAULT_DELAY_SECONDS="0.3",
    )
    workers: list[Proc] = []
    try:
        workers += start_workers(fresh_stack, 2)
        fresh_stack.start_web()
        yield fresh_stack, workers
    finally:
        for proc in workers:
            proc.stop()


def submit_steadily(stack: Stack, until: float, accepted: list[str], refused: list[str]) -> None:
    """One client: a prediction job every CLIENTS / RATE seconds until ``until``.

    A job is accepted with 202, or 200 when it had finished before the answer was sent.
    """
    session = requests.Session()
    session.headers.update(stack.http.headers)
    pause = CLIENTS / RATE
    next_at = time.monotonic()
    while next_at < until:
        r = session.post(stack.url("/api/v1/predictions"), json={"instances": passengers(1)})
        (accepted if r.ok else refused).append(r.json().get("id") or r.text)
        next_at += pause
        time.sleep(max(0.0, next_at - time.monotonic()))


def records(stack: Stack, ids: list[str]) -> list[tuple[str, float, float]]:
    """(status, created_at, finished_at or 0) of each job, read from its record."""
    keys = Keys()
    pipe = stack.redis.pipeline(transaction=False)
    for job_id in ids:
        pipe.hmget(keys.job(job_id), "status", "created_at", "finished_at")
    return [
        (status.decode(), float(created), float(done or 0))
        for status, created, done in pipe.execute()
    ]


def scoring_on(stack: Stack, job_id: str, worker: Proc) -> bool:
    """Whether a part of ``job_id`` claimed by ``worker`` has written a chunk (it runs)."""
    found = re.search(r"worker (\S+) announces its queues", worker.output())
    if found is None:
        return False
    keys = Keys()
    parts = stack.redis.hgetall(keys.batch_parts(job_id))
    written = stack.redis.hgetall(keys.batch_rows(job_id))
    mine = [k[: -len(b":node")] for k, v in parts.items() if k.endswith(b":node")]
    mine = [p for p in mine if parts[p + b":node"].decode() == found[1]]
    return any(int(written.get(p, 0)) > 0 for p in mine)


def test_sigterm_under_load_loses_no_job_and_none_waits_past_the_grace_period(
    two_workers: tuple[Stack, list[Proc]],
) -> None:
    stack, (stopping, staying) = two_workers
    accepted: list[str] = []
    refused: list[str] = []
    until = time.monotonic() + LOAD_SECONDS
    clients = [
        threading.Thread(target=submit_steadily, args=(stack, until, accepted, refused))
        for _ in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    time.sleep(LOAD_SECONDS / 3)
    stopping.popen.send_signal(signal.SIGTERM)  # as docker and the supervisor do: main process
    wait_until(lambda: not stopping.alive(), GRACE + MARGIN, "the stopped worker to exit")
    for client in clients:
        client.join()
    assert refused == []
    assert len(accepted) > RATE * LOAD_SECONDS * 0.8  # the load was the one intended
    wait_until(
        lambda: all(s == "succeeded" for s, _, _ in records(stack, accepted)),
        GRACE + MARGIN,
        "every accepted job to succeed",
    )
    waits = [done - created for _, created, done in records(stack, accepted)]
    assert max(waits) <= GRACE + MARGIN
    assert staying.alive()
    assert stopping.popen.returncode == 0  # a warm shutdown that ended within the grace


def test_sigterm_hands_a_running_batch_part_back_at_once(
    two_workers: tuple[Stack, list[Proc]],
) -> None:
    stack, (stopping, staying) = two_workers
    records_in = rows(1500)
    job_id = upload(stack, to_csv(records_in), id_column="passenger").json()["id"]
    # a part running in the stopping worker's pool: a message its main process received a
    # few ms before the SIGTERM may not have reached the pool yet (then the cold shutdown
    # at the end of the grace puts it back: later, but still nothing lost)
    wait_until(lambda: scoring_on(stack, job_id, stopping), 30, "a part on the stopping worker")
    stopping.popen.send_signal(signal.SIGTERM)
    wait_until(lambda: not stopping.alive(), GRACE + MARGIN, "the stopped worker to exit")
    done = finished(stack, job_id, timeout=120)
    assert done["status"] == "succeeded"
    assert [r["passenger"] for r in result(stack, job_id)] == [r["passenger"] for r in records_in]
    log = stopping.output()
    assert "re-queued" in log  # a part was handed back …
    assert "grace period over" not in log  # … at once, not when the grace period ran out
    assert staying.alive()
