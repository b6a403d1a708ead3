"""``python -m bench.fairness``: does one tenant's flood slow another tenant down?

Two tenants on one private stack. The light tenant sends single-instance prediction
jobs at a fixed 20 jobs/s (open loop, measured from each job's scheduled time); the
heavy one floods ``POST /api/v1/predictions`` from many clients as fast as it can,
never waiting for its jobs (``--submit-only``: a client that only fills the queue).
Phases (``--phases``, in the order given; the first is the baseline of the ratios), each
after the queue has drained and on a freshly started web:

- ``alone``: the light tenant alone;
- ``flood_limit_off`` / ``flood_limit_on``: with the flood, the per-key rate limit
  (``--limit`` requests/s) off / on, and no cap on a key's requests in progress;
- ``flood_admission`` / ``flood_admission_limit_off``: the same with each web process
  working on at most ``--concurrent`` requests of a key at once (``web.admission``).

Run them in alternating orders to compare mechanisms: the machine's other load moves
every figure. Each phase reports the CPU seconds of the web, the worker, Redis and each
load generator (``own_cpu_s``), the machine's other busy cores meanwhile, and the light
tenant's p99 split into where its jobs waited (``stages``: web in, queue, worker, web
out; from each job's timestamps).

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

from bench.cpu import CpuMeter
from bench.scenarios import loadgen_args
from bench.stack import Stack, restart_web, running_stack
from bench.subproc import run_json
from core import stores
from core.defaults import DEFAULT_KEY_MAX_CONCURRENT_REQUESTS
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
CONCURRENT = DEFAULT_KEY_MAX_CONCURRENT_REQUESTS  # admission phases: a key's requests in progress
# phase → (flooded, rate limit on, per-key admission on)
PHASES = {
    "alone": (False, False, False),
    "flood_limit_off": (True, False, False),
    "flood_limit_on": (True, True, False),
    "flood_admission": (True, True, True),
    "flood_admission_limit_off": (True, False, True),
}


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
    nice = ["nice", "-n", str(args.flood_nice)] if args.flood_nice else []
    return subprocess.Popen(
        [*nice, PY, "-m", "bench.loadgen", *cli], cwd=ROOT, env=stack.env, stdout=subprocess.PIPE
    )


def phase(stack: Stack, args: argparse.Namespace, name: str) -> dict:
    flooded, limit, admission = PHASES[name]
    env = {
        "LIFEBOAT_RATE_LIMIT_ENABLED": "true" if limit else "false",
        "LIFEBOAT_RATE_LIMIT_PER_SECOND": str(args.limit),
        "LIFEBOAT_KEY_MAX_CONCURRENT_REQUESTS": str(args.concurrent if admission else 0),
    }
    restart_web(stack, args.app, env)
    client = redis.Redis.from_url(stack.redis_url)
    pending = Keys().pending(JobType.PREDICTION.value)
    result: dict[str, Any] = {"drained_before_s": drain(client, pending)}
    meter = CpuMeter(stack)
    with backlog_sampler(client, pending) as backlog:
        meter.start()
        heavy = flood(stack, args) if flooded else None
        if heavy is not None:
            time.sleep(FLOOD_LEAD_SECONDS)
        result["light"] = light(stack, args)
        if heavy is not None:
            out, _ = heavy.communicate(timeout=args.seconds + 120)
            result["flood"] = json.loads(out.decode().strip().splitlines()[-1])
        meter.stop()
    result["max_queued_jobs"] = backlog["max"]
    result["cpu"] = meter.report()
    stack.check_alive()
    return result


def ratio(flooded: dict[str, Any], alone: dict[str, Any]) -> float | None:
    over, base = flooded["light"]["p99_ms"], alone["light"]["p99_ms"]
    return round(over / base, 2) if over and base else None


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The few figures of a phase worth reading first."""
    light_, flood_ = result["light"], result.get("flood") or {}
    cpu = result["cpu"]["cpu_seconds"]
    return {
        "light_p50_ms": light_["p50_ms"],
        "light_p99_ms": light_["p99_ms"],
        "light_stages_p99_ms": {k: v["p99_ms"] for k, v in (light_.get("stages") or {}).items()},
        "flood_jobs_per_s": flood_.get("jobs_per_s"),
        "flood_answers": flood_.get("first_status"),
        "cpu_s": {
            "web": round(sum(v for k, v in cpu.items() if k.startswith("web-")), 2),
            "worker": round(sum(v for k, v in cpu.items() if k.startswith("worker-")), 2),
            "redis": round(sum(v for k, v in cpu.items() if k.startswith("redis-")), 2),
            "light_loadgen": light_.get("own_cpu_s"),
            "flood_loadgen": flood_.get("own_cpu_s"),
            "wall": result["cpu"]["wall_s"],
            "other_cores_busy": result["cpu"]["other_cores_busy"],
        },
        "max_queued_jobs": result["max_queued_jobs"],
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.fairness", description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=PHASE_SECONDS)
    p.add_argument("--light-rate", type=float, default=LIGHT_RATE)
    p.add_argument("--flood-clients", type=int, default=FLOOD_CLIENTS)
    p.add_argument("--limit", type=float, default=LIMIT_PER_SECOND, help="requests/s per key")
    p.add_argument("--app", default=WEB_APP, help="the gunicorn app spec to serve")
    p.add_argument(
        "--concurrent", type=int, default=CONCURRENT, help="admission: a key's requests in progress"
    )
    p.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"phases to run, in this order (the first is the baseline): {', '.join(PHASES)}",
    )
    p.add_argument(
        "--flood-nice", type=int, default=0, help="run the flood's load generator at this niceness"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    args = parse_args(argv)
    names = [n for n in args.phases.split(",") if n]
    unknown = sorted(set(names) - set(PHASES))
    if unknown:
        raise SystemExit(f"unknown phases {unknown}: choose from {sorted(PHASES)}")
    results: dict[str, dict[str, Any]] = {}
    with running_stack() as stack:
        args.light_header = tenant_header(stack, "light")
        args.heavy_header = tenant_header(stack, "heavy")
        for name in names:
            log.info("phase %s", name)
            results[name] = phase(stack, args, name)
    base = results[names[0]]
    figures = {
        "light_rate": args.light_rate,
        "flood_clients": args.flood_clients,
        "flood_nice": args.flood_nice,
        "seconds": args.seconds,
        "limit_per_second": args.limit,
        "concurrent": args.concurrent,
        "light_p99_ms": {n: r["light"]["p99_ms"] for n, r in results.items()},
        "ratios": {n: ratio(r, base) for n, r in results.items() if n != names[0]},
        "target_ratio": TARGET_RATIO,
        "summary": {n: summary(r) for n, r in results.items()},
        "phases": results,
    }
    json.dump(figures, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
