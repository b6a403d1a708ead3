"""Baselines measured in the same run as the scenarios, while the Lifeboat worker is idle."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from bench.cpu import CpuMeter
from bench.noop_app import NOOP_QUEUE
from bench.stack import WORKER_CONCURRENCY, Stack
from bench.subproc import run_json
from devsupport import celery_command, free_port

log = logging.getLogger(__name__)

NOOP_THREADS = 32  # producer threads, one no-op in flight each
NOOP_SECONDS = 10.0  # measured seconds of the no-op round trip
NOOP_LATENCY_SECONDS = 5.0  # measured seconds of one thread's no-op round trips
MODEL_REPEAT = 300  # timed model calls per path


def model_call(stack: Stack) -> dict[str, Any]:
    """The model call alone (one row), scikit-learn pipeline vs lean path, threads pinned."""
    env = {**stack.env, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    args = ["--models-dir", str(stack.models_dir), "--repeat", str(MODEL_REPEAT)]
    return run_json("bench.model_baseline", args, env, timeout=120)


@contextlib.contextmanager
def noop_worker(stack: Stack) -> Iterator[None]:
    """A Celery worker of the no-op task, on the same Redis, while the body runs."""
    stack.start(
        "noop-worker",
        celery_command(
            "worker",
            "-Q",
            NOOP_QUEUE,
            "--pool=prefork",
            f"--concurrency={WORKER_CONCURRENCY}",
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=bench-noop-{free_port()}@%h",
            app="bench.noop_app:app",
        ),
    )
    try:
        yield
    finally:
        stack.stop("noop-worker")


def noop_round_trips(
    stack: Stack, threads: int, seconds: float, *, samples: bool = False
) -> dict[str, Any]:
    """``threads`` threads of raw no-op round trips for ``seconds`` (in :func:`noop_worker`):
    tasks/s and percentiles (and every round trip with ``samples``)."""
    args = ["--threads", str(threads), "--duration", str(seconds)]
    args += ["--samples"] if samples else []
    return run_json("bench.noop_producer", args, stack.env, timeout=seconds + 90)


def celery_noop(stack: Stack) -> dict[str, Any]:
    """Raw Celery round trips of a no-op task on the same Redis, by a worker of its own."""
    with noop_worker(stack):
        # one thread: a raw round trip's latency; then 32: the rate (same worker, same Redis)
        single = noop_round_trips(stack, 1, NOOP_LATENCY_SECONDS)
        meter = CpuMeter(stack)
        meter.start()
        figures = noop_round_trips(stack, NOOP_THREADS, NOOP_SECONDS)
        meter.stop()
        figures["cpu"] = meter.report()
        figures["single"] = single
        return figures


def measure(stack: Stack) -> dict[str, Any]:
    """Every baseline, as one JSON-ready dict."""
    log.info("baseline: model call")
    model = model_call(stack)
    log.info(
        "baseline: raw Celery no-op round trip (%d threads, %.0f s)", NOOP_THREADS, NOOP_SECONDS
    )
    noop = celery_noop(stack)
    return {
        "sklearn_predict_proba_1row_p50_ms": model["sklearn_predict_proba_1row_p50_ms"],
        "lean_predict_proba_rows_1row_p50_ms": model["lean_predict_proba_rows_1row_p50_ms"],
        "lean_scorer": model["lean_scorer"],
        "celery_noop_tasks_per_s": noop["tasks_per_s"],
        "celery_noop_errors": noop["errors"],
        "celery_noop_threads": noop["threads"],
        "celery_noop_1_p50_ms": noop["single"]["p50_ms"],
        "celery_noop_1_p99_ms": noop["single"]["p99_ms"],
        "celery_noop_cpu": noop["cpu"],
    }
