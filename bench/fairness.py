"""``python -m bench.fairness``: does one tenant's flood slow another tenant down?

Two tenants on one private stack. The light tenant sends single-instance prediction
jobs at a fixed 20 jobs/s (open loop, measured from each job's scheduled time); the
heavy one floods ``POST /api/v1/predictions`` from many clients as fast as it can,
never waiting for its jobs (``--submit-only``: a client that only fills the queue).
Three phases, each after the queue has drained and on a freshly started web:

1. the light tenant alone (its baseline in this run);
2. with the flood, rate limiting off;
3. with the flood, rate limiting on (``--limit`` requests/s per key).

Each tenant sends its own real API key (``predict`` and ``read``), made in the stack's
Redis before the first phase, so the per-key rate limit and the per-tenant quotas
(``LIFEBOAT_TENANT_MAX_ACTIVE_JOBS``: the flood's 429s once its backlog is full) are the
platform's own.

Prints one JSON object: the light tenant's turnaround in each phase, the ratio of its p99
under the flood to its p99 alone (target <= 2), what the flood got through (and how many
of its requests were refused), and the deepest backlog of queued prediction jobs seen.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import redis

from bench.scenarios import loadgen_args
from bench.stack import Stack, restart_web, running_stack
from bench.subproc import run_json
from core import stores
from core.jobs import JobType
from core.keys import Keys
from core.queue import PREDICTIONS_QUEUE
from core.settings import Settings
from devsupport import PY, ROOT, WEB_APP

log = logging.getLogger("bench.fairness")

LIGHT_RATE = 20.0  # jobs/s of the light tenant
LIGHT_CLIENTS = 32  # connections the light tenant's schedule is spread over
FLOOD_CLIENTS = 64  # the heavy tenant's concurrent clients
PHASE_SECONDS = 20.0  # measured seconds of the light tenant per phase
FLOOD_LEAD_SECONDS = 3.0  # the flood runs alone this long before the light tenant starts
LIMIT_PER_SECOND = 100.0  # per-key limit of phase 3 (the platform's default)
JOB_TIMEOUT = 300.0  # seconds a light job may take before it counts as an error
DRAIN_TIMEOUT = 600.0  # seconds the queue may take to empty between phases
SAMPLE_SECONDS = 0.25  # how often the backlog is read
TARGET_RATIO = 2.0  # light p99 under the flood over light p99 alone
TENANT_SCOPES = frozenset({"predict", "read"})  # what each tenant's key may do


@contextlib.contextmanager
def backlog_sampler(client: redis.Redis, key: str) -> Iterator[dict[str, int]]:
    """The deepest length of the list ``key`` seen while the block runs."""
    seen = {"max": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(SAMPLE_SECONDS):
            seen["max"] = max(seen["max"], int(client.llen(key)))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join()


def drain(client: redis.Redis, pending: str) -> float:
    """Wait until no prediction job or message is queued; the seconds it took."""
    t0 = time.monotonic()
    while client.llen(pending) or client.llen(PREDICTIONS_QUEUE):
        if time.monotonic() - t0 > DRAIN_TIMEOUT:
            raise RuntimeError("the prediction queue did not drain")
        time.sleep(SAMPLE_SECONDS)
    return round(time.monotonic() - t0, 1)


def tenant_header(stack: Stack, tenant: str) -> str:
    """An ``Authorization`` header with a new API key of ``tenant``."""
    client = redis.Redis.from_url(stack.redis_url)
    _, token = stores.api_keys(Settings(), client).create(
        name=f"fairness bench: {tenant}", tenant=tenant, scopes=TENANT_SCOPES
    )
    return f"Authorization: Bearer {token}"


def light(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    cli = loadgen_args(
        stack,
        (args.light_header,),
        clients=LIGHT_CLIENTS,
        rate=args.light_rate,
        duration=args.seconds,
        warmup_seconds=1.0,
        instances=1,
        job_timeout=JOB_TIMEOUT,
    )
    return run_json("bench.loadgen", cli, stack.env, timeout=args.seconds + JOB_TIMEOUT + 60)


def flood(stack: Stack, args: argparse.Namespace) -> subprocess.Popen:
    cli = loadgen_args(
        stack,
        (args.heavy_header,),
        clients=args.flood_clients,
        duration=args.seconds + FLOOD_LEAD_SECONDS + 2.0,
        instances=1,
        submit_only=True,
    )
    return subprocess.Popen(
        [PY, "-m", "bench.loadgen", *cli], cwd=ROOT, env=stack.env, stdout=subprocess.PIPE
    )


def phase(stack: Stack, args: argparse.Namespace, *, flooded: bool, limit: bool) -> dict:
    env = {
        "LIFEBOAT_RATE_LIMIT_ENABLED": "true" if limit else "false",
        "LIFEBOAT_RATE_LIMIT_PER_SECOND": str(args.limit),
    }
    restart_web(stack, args.app, env)
    client = redis.Redis.from_url(stack.redis_url)
    pending = Keys().pending(JobType.PREDICTION.value)
    result: dict[str, Any] = {"drained_before_s": drain(client, pending)}
    with backlog_sampler(client, pending) as backlog:
        heavy = flood(stack, args) if flooded else None
        if heavy is not None:
            time.sleep(FLOOD_LEAD_SECONDS)
        result["light"] = light(stack, args)
        if heavy is not None:
            out, _ = heavy.communicate(timeout=args.seconds + 120)
            result["flood"] = json.loads(out.decode().strip().splitlines()[-1])
    result["max_queued_jobs"] = backlog["max"]
    return result


def ratio(flooded: dict[str, Any], alone: dict[str, Any]) -> float | None:
    over, base = flooded["light"]["p99_ms"], alone["light"]["p99_ms"]
    return round(over / base, 2) if over and base else None


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.fairness", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=PHASE_SECONDS)
    p.add_argument("--light-rate", type=float, default=LIGHT_RATE)
    p.add_argument("--flood-clients", type=int, default=FLOOD_CLIENTS)
    p.add_argument("--limit", type=float, default=LIMIT_PER_SECOND, help="requests/s per key")
    p.add_argument("--app", default=WEB_APP, help="the gunicorn app spec to serve")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    with running_stack() as stack:
        args.light_header = tenant_header(stack, "light")
        args.heavy_header = tenant_header(stack, "heavy")
        log.info("phase 1: the light tenant alone")
        alone = phase(stack, args, flooded=False, limit=False)
        log.info("phase 2: with the flood, rate limiting off")
        unlimited = phase(stack, args, flooded=True, limit=False)
        log.info("phase 3: with the flood, rate limiting on (%g/s per key)", args.limit)
        limited = phase(stack, args, flooded=True, limit=True)
    figures = {
        "light_rate": args.light_rate,
        "flood_clients": args.flood_clients,
        "seconds": args.seconds,
        "limit_per_second": args.limit,
        "light_p99_ms": {
            "alone": alone["light"]["p99_ms"],
            "flood_limit_off": unlimited["light"]["p99_ms"],
            "flood_limit_on": limited["light"]["p99_ms"],
        },
        "ratio_limit_off": ratio(unlimited, alone),
        "ratio_limit_on": ratio(limited, alone),
        "target_ratio": TARGET_RATIO,
        "phases": {"alone": alone, "flood_limit_off": unlimited, "flood_limit_on": limited},
    }
    json.dump(figures, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
