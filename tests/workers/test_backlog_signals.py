"""The autoscaling signals on the web's /metrics, with a real web, real workers and Redis."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from core import backlog
from core.keys import Keys
from devsupport import RedisServer, Stack, free_port, make_stack, wait_until
from devsupport.stack import METRICS_KEY_ENV
from tests.conftest import new_db
from tests.payloads import passengers

SUBMITTED = 3  # prediction jobs queued while no worker consumes their queue
WAITED = 1.5  # seconds they wait before the backlog is read


@pytest.fixture(scope="module")
def signals_stack(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A web and a worker consuming batches and webhooks only: predictions stay queued."""
    s = make_stack(redis_server, new_db(), models_dir, tmp_path_factory.mktemp("signals"))
    s.start_worker(concurrency=1, queues="batches,webhooks")
    s.procs["batches-worker"] = s.procs.pop("worker")
    s.start_web()
    yield s
    s.stop_all()


def scrape(stack: Stack) -> dict[tuple[str, str], float]:
    """The web's queue gauges: (metric name, queue) -> value."""
    r = requests.get(
        stack.url("/metrics"),
        headers={"Authorization": f"Bearer {stack.env[METRICS_KEY_ENV]}"},
        timeout=10,
    )
    r.raise_for_status()
    return {
        (s.name, s.labels["queue"]): s.value
        for family in text_string_to_metric_families(r.text)
        if family.name.startswith("lifeboat_queue_")
        for s in family.samples
    }


def wait_for(stack: Stack, name: str, queue: str, value: float) -> dict[tuple[str, str], float]:
    got: dict[tuple[str, str], float] = {}

    def reached() -> bool:
        got.update(scrape(stack))
        return got.get((name, queue)) == value

    wait_until(reached, 30, f"{name}{{queue={queue!r}}} == {value}")
    return got


def test_queued_predictions_are_the_backlog_and_age_of_a_queue_nobody_consumes(signals_stack):
    got = wait_for(signals_stack, "lifeboat_queue_workers", "batches", 1)
    assert got[("lifeboat_queue_workers", "webhooks")] == 1
    assert got[("lifeboat_queue_workers", "predictions")] == 0

    before = time.time()
    for _ in range(SUBMITTED):  # one request at a time: one message each
        r = signals_stack.http.post(
            signals_stack.url("/api/v1/predictions"), json={"instances": passengers(1)}, timeout=10
        )
        assert r.status_code == 202, r.text
    time.sleep(WAITED)
    got = scrape(signals_stack)
    elapsed = time.time() - before
    # no live worker: the whole backlog is what one worker would face
    assert got[("lifeboat_queue_backlog_messages_per_worker", "predictions")] == SUBMITTED
    assert WAITED <= got[("lifeboat_queue_oldest_message_age_seconds", "predictions")] <= elapsed
    assert got[("lifeboat_queue_backlog_messages_per_worker", "batches")] == 0
    assert got[("lifeboat_queue_oldest_message_age_seconds", "batches")] == 0


def test_a_worker_that_starts_drains_the_backlog_and_one_that_stops_withdraws(signals_stack):
    signals_stack.start_worker(
        concurrency=1,
        queues="predictions",
        extra_env={"LIFEBOAT_WORKER_METRICS_PORT": str(free_port())},
    )
    got = wait_for(signals_stack, "lifeboat_queue_backlog_messages_per_worker", "predictions", 0)
    assert got[("lifeboat_queue_oldest_message_age_seconds", "predictions")] == 0
    got = wait_for(signals_stack, "lifeboat_queue_workers", "predictions", 1)
    assert got[("lifeboat_queue_workers", "batches")] == 1

    stopped = time.time()
    signals_stack.stop("worker")  # SIGTERM: it withdraws as it starts to stop
    members = signals_stack.redis.zrange(Keys().queue_workers("predictions"), 0, -1)
    assert members == []
    assert time.time() - stopped < backlog.LIVE_SECONDS  # withdrawn, not timed out
    assert scrape(signals_stack)[("lifeboat_queue_workers", "predictions")] == 0


def test_the_backlog_is_shared_among_the_live_workers_of_a_queue(signals_stack):
    # two workers that each hold one prediction message for a while (one pool process,
    # one message reserved at a time): the rest wait, shared between them. Each claims
    # only its own message's job: with micro-batching a worker also claims the jobs
    # still pending, and the other one then drains their messages as "nothing to do"
    slow = {
        "LIFEBOAT_FAULT_DELAY_SECONDS": "30",
        "LIFEBOAT_MICROBATCH_MAX_JOBS": "1",
        "LIFEBOAT_WORKER_GRACE_SECONDS": "6",  # stopped at the end: hand back, don't wait
    }
    for name in ("slow-a", "slow-b"):
        signals_stack.start_worker(
            concurrency=1,
            queues="predictions",
            extra_env={**slow, "LIFEBOAT_WORKER_METRICS_PORT": str(free_port())},
        )
        signals_stack.procs[name] = signals_stack.procs.pop("worker")
    wait_for(signals_stack, "lifeboat_queue_workers", "predictions", 2)

    for _ in range(6):
        r = signals_stack.http.post(
            signals_stack.url("/api/v1/predictions"), json={"instances": passengers(1)}, timeout=10
        )
        assert r.status_code == 202, r.text
    # two messages taken (one a worker), four waiting: two a worker
    got = wait_for(signals_stack, "lifeboat_queue_backlog_messages_per_worker", "predictions", 2)
    assert got[("lifeboat_queue_workers", "predictions")] == 2
    assert signals_stack.redis.llen("predictions") == 4
    signals_stack.stop("slow-a")
    signals_stack.stop("slow-b")
