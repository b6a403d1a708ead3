"""``python -m bench shadow``: throughput with a shadow version on, against none, same run.

Three modes, in alternating rounds so that the machine's load drifting hits each alike:

- ``off``: no shadow version (the reports worker runs, idle);
- ``reports``: a shadow version, its queue consumed by the reports worker (as deployed);
- ``scoring``: a shadow version, its queue consumed by the scoring worker's pool instead.

Each run is the throughput scenario (32 clients, single-instance jobs). The shadow version
is a copy of the default under another name (it scores as much as the primary), made in
the stack's models folder, which must be the bench's own (``--train-model`` when the
project's ``models/`` holds versions). Quoted: per mode, the median over rounds of
jobs/s and primary p99 as a ratio to the ``off`` run of the same round, and the shadow
queue's backlog when each run ends (0: the shadow kept up), and the median CPU
milliseconds per job of each stack part (the reports worker's too) and Redis commands
per job, which depend much less than jobs/s on the machine's other load.
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Callable
from typing import Any

import redis

from bench.stack import START_TIMEOUT, WORKER_CONCURRENCY, WORKER_LOGLEVEL, Stack
from core.queue import SHADOW_QUEUE
from devsupport import KeyedHTTP, free_port, wait_for_worker, worker_command
from ml.registry import Registry

ROUNDS = 3  # off / reports / scoring triples
MODES = ("off", "reports", "scoring")
PROPAGATION_SECONDS = 1.0  # every process follows a policy change within this
SHADOW_SUFFIX = "-shadow"  # the shadow version's name: the default's and this

CPU_PARTS = ("web", "worker", "reports", "redis", "stack")  # per job, by stack part

Measure = Callable[..., dict[str, Any]]


def _reports_cpu(found: dict[str, Any]) -> None:
    """Add the reports worker's CPU per job to the run's ``per_job`` (and to ``stack``)."""
    seconds = found["cpu"]["cpu_seconds"]
    per_job = found["per_job"]
    reports = (seconds.get("reports-main", 0.0) + seconds.get("reports-children", 0.0)) * 1000
    ms = per_job["cpu_ms"]
    ms["reports"] = round(reports / per_job["jobs"], 3) if per_job["jobs"] else None
    ms["stack"] = round(ms["stack"] + (ms["reports"] or 0.0), 3)


def _shadow_version(stack: Stack) -> tuple[str, str]:
    """(default, shadow): the shadow a copy of the default in the bench's models folder."""
    if not stack.models_dir.is_relative_to(stack.workdir):
        raise SystemExit("bench shadow writes a model version: run it with --train-model")
    default = Registry(stack.models_dir).default_version()
    shadow = default + SHADOW_SUFFIX
    if not (stack.models_dir / shadow).exists():
        shutil.copytree(stack.models_dir / default, stack.models_dir / shadow)
    return default, shadow


def _workers(stack: Stack, shadow_on_scoring: bool) -> None:
    """(Re)start the scoring worker and the reports worker with the mode's queues."""
    for name in ("worker", "reports"):
        stack.stop(name)
    scoring = "predictions,batches" + (f",{SHADOW_QUEUE}" if shadow_on_scoring else "")
    reports = "reports,webhooks" + ("" if shadow_on_scoring else f",{SHADOW_QUEUE}")
    host = stack.env["LIFEBOAT_WEB_PORT"]
    proc = stack.start(
        "worker", worker_command(scoring, WORKER_CONCURRENCY, f"bench-{host}@%h", WORKER_LOGLEVEL)
    )
    wait_for_worker(proc, stack.metrics_url, WORKER_CONCURRENCY, START_TIMEOUT)
    port = stack.env.setdefault("BENCH_REPORTS_METRICS_PORT", str(free_port()))
    proc = stack.start(
        "reports",
        worker_command(reports, 1, f"bench-reports-{host}@%h", WORKER_LOGLEVEL),
        {"LIFEBOAT_WORKER_METRICS_PORT": port, "LIFEBOAT_WORKER_MAX_MEMORY_MB": "0"},
    )
    wait_for_worker(proc, f"http://127.0.0.1:{port}/metrics", 1, START_TIMEOUT)


def _policy(stack: Stack, default: str, shadow: list[str]) -> None:
    http = KeyedHTTP(stack.env["LIFEBOAT_API_KEY"])
    body = {"default": default, "shadow": shadow}
    http.request("PUT", stack.base_url + "/api/v1/deployment", json=body).raise_for_status()
    time.sleep(PROPAGATION_SECONDS)


def compare(stack: Stack, options: Any, measure: Measure) -> dict[str, Any]:
    """Throughput of each mode in ``ROUNDS`` alternating rounds, and ratios to ``off``."""
    default, shadow = _shadow_version(stack)
    queue = redis.Redis.from_url(stack.redis_url)
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in MODES}
    on_scoring = None
    for _round in range(ROUNDS):
        for mode in MODES:
            if on_scoring != (mode == "scoring"):
                on_scoring = mode == "scoring"
                _workers(stack, on_scoring)
            _policy(stack, default, [] if mode == "off" else [shadow])
            queue.delete(SHADOW_QUEUE)  # the last run's backlog is not this one's
            found = measure(stack, options)
            found["shadow_backlog_at_end"] = int(queue.llen(SHADOW_QUEUE))
            _reports_cpu(found)
            runs[mode].append(found)
    _policy(stack, default, [])
    _workers(stack, False)
    figures: dict[str, Any] = {"rounds": ROUNDS, "shadow_version": shadow}
    for mode, found in runs.items():
        figures[f"jobs_per_s_{mode}"] = round(statistics.median(r["jobs_per_s"] for r in found), 1)
        figures[f"p99_ms_{mode}"] = round(statistics.median(r["p99_ms"] or 0 for r in found), 1)
        figures[f"errors_{mode}"] = sum(r["errors"] for r in found)
        figures[f"shadow_backlog_{mode}"] = [r["shadow_backlog_at_end"] for r in found]
        figures[f"cpu_ms_per_job_{mode}"] = {
            part: round(statistics.median(r["per_job"]["cpu_ms"][part] for r in found), 3)
            for part in CPU_PARTS
        }
        figures[f"redis_commands_per_job_{mode}"] = round(
            statistics.median(r["per_job"]["redis_commands"] for r in found), 2
        )
        if mode == "off":
            continue
        pairs = list(zip(runs["off"], found, strict=True))
        for what in ("jobs_per_s", "p99_ms"):
            ratios = [on[what] / off[what] for off, on in pairs if off[what] and on[what]]
            figures[f"{what}_ratio_{mode}_to_off_by_round"] = [round(r, 3) for r in ratios]
            figures[f"{what}_ratio_{mode}_to_off"] = round(statistics.median(ratios), 3)
    figures["runs"] = runs
    return figures
