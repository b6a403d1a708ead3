"""The scenarios: each drives the load generator (its own process) and returns its figures."""

from __future__ import annotations

import contextlib
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import baselines, profiling, shadow, slices
from bench.cpu import CpuMeter, per_job
from bench.metrics import histogram_totals
from bench.stack import Stack, restart_web, restart_worker
from bench.subproc import run_json
from devsupport import WEB_APP

WAIT_SECONDS = 10  # ?wait= of every POST and long-poll

LATENCY_JOBS = 500
LATENCY_WARMUP_JOBS = 50

THROUGHPUT_CLIENTS = 32
THROUGHPUT_SECONDS = 20.0
THROUGHPUT_WARMUP_SECONDS = 3.0

SIZES = (1, 10, 100, 1000)
SIZES_JOBS = 30  # measured jobs per size
SIZES_WARMUP_JOBS = 5

MICROBATCH_METRIC = "lifeboat_microbatch_jobs"

TURNAROUND_JOBS = 500  # measured jobs of one client
TURNAROUND_WARMUP_JOBS = 50
TURNAROUND_SLICES = 5  # one client's jobs go in this many slices between no-op slices
NOOP_SLICE_SECONDS = 1.0  # measured seconds of one slice of no-op round trips
TURNAROUND_PATTERNS = ("poll", "wait")  # POST then GET ?wait; POST ?wait

LONG_POLLS = 2_000  # long-polls waiting at once
LONG_POLL_ENV = {  # room for them: one tenant's queued jobs
    "LIFEBOAT_TENANT_MAX_ACTIVE_JOBS": "10000",
}

LIMITS_ROUNDS = 4  # off/on pairs of throughput runs (the median pair's ratio is quoted)
LIMITS_RATE = 100_000.0  # requests/s of the bench's key: checked on every request, never refused


@dataclass(frozen=True)
class Options:
    """How to run the scenarios."""

    profile_dir: Path | None = None
    """Record py-spy profiles of the web and worker processes during throughput here."""


def loadgen_args(
    stack: Stack, headers: tuple[str, ...] = (), **options: float | int | bool | str
) -> list[str]:
    """``bench.loadgen``'s command line: ``--option value`` pairs, flags for ``True``."""
    args = ["--url", stack.base_url, "--wait", str(WAIT_SECONDS)]
    for name, value in options.items():
        flag = f"--{name.replace('_', '-')}"
        args += [flag] if value is True else [flag, str(value)]
    for header in headers:
        args += ["--header", header]
    return args


def metered(stack: Stack, module: str, args: list[str], timeout: float) -> dict[str, Any]:
    """Run a load generator module with ``args``, its figures with the stack's CPU and Redis
    commands over its run, per job too."""
    meter = CpuMeter(stack)
    meter.start()
    figures = run_json(module, args, stack.env, timeout=timeout)
    meter.stop()
    figures["cpu"] = meter.report()
    # every job of the window: the load generator waits for each job it issued
    figures["per_job"] = per_job(figures["cpu"], figures["count"] + figures["warmup_jobs"])
    stack.check_alive()
    return figures


def loadgen(
    stack: Stack, *, timeout: float, headers: tuple[str, ...] = (), **options: float | int
) -> dict[str, Any]:
    """Run ``bench.loadgen`` against the stack's web with ``--option value`` pairs."""
    return metered(stack, "bench.loadgen", loadgen_args(stack, headers, **options), timeout)


def latency(stack: Stack, _options: Options) -> dict[str, Any]:
    """One client, single-instance jobs one after the other: turnaround percentiles."""
    return loadgen(
        stack,
        clients=1,
        jobs=LATENCY_JOBS,
        warmup_jobs=LATENCY_WARMUP_JOBS,
        instances=1,
        timeout=240,
    )


def throughput(stack: Stack, options: Options, headers: tuple[str, ...] = ()) -> dict[str, Any]:
    """32 clients for 20 s: completed jobs/s, percentiles, errors, mean micro-batch size."""
    seconds = THROUGHPUT_SECONDS + THROUGHPUT_WARMUP_SECONDS
    sum0, count0 = histogram_totals(stack.metrics_url, MICROBATCH_METRIC)
    profiles: list[profiling.Profile] = []
    with contextlib.ExitStack() as during:
        if options.profile_dir is not None:
            profiles = during.enter_context(
                profiling.profiling(stack, seconds, options.profile_dir)
            )
        figures = loadgen(
            stack,
            clients=THROUGHPUT_CLIENTS,
            duration=THROUGHPUT_SECONDS,
            warmup_seconds=THROUGHPUT_WARMUP_SECONDS,
            instances=1,
            timeout=seconds + 90,
            headers=headers,
        )
    sum1, count1 = histogram_totals(stack.metrics_url, MICROBATCH_METRIC)
    # the platform as deployed: a real API key, and every answer from a key's rate limit
    figures["api_key"] = bool(stack.env.get("LIFEBOAT_API_KEY"))
    figures["rate_limited_share"] = (
        round(figures["rate_limited_responses"] / figures["responses"], 3)
        if figures["responses"]
        else None
    )
    if profiles:
        figures["profile"] = profiling.summarize(profiles, seconds)
    calls = count1 - count0
    figures["model_calls"] = int(calls)
    figures["mean_microbatch_jobs"] = round((sum1 - sum0) / calls, 2) if calls else None
    return figures


def turnaround(stack: Stack, _options: Options) -> dict[str, Any]:
    """Both client patterns (``bench.turnaround``, asyncio, keep-alive), one client then 32:
    turnaround percentiles, jobs/s and CPU per job of each, with raw Celery no-op round
    trips on the same Redis as their base (``noop``). One client's jobs go in slices that
    alternate with slices of no-op round trips (:mod:`bench.slices`); 32 clients' runs have
    the no-op's rate measured before and after each (their means), so that a ratio compares
    figures taken a few seconds apart on this shared, drifting machine (the run's first
    baseline is a minute away from the last run)."""
    with baselines.noop_worker(stack):
        runs = {f"{p}_1": r for p, r in _one_client_runs(stack).items()}
        before = baselines.noop_round_trips(stack, THROUGHPUT_CLIENTS, baselines.NOOP_SECONDS)
        for pattern in TURNAROUND_PATTERNS:
            run = metered(
                stack,
                "bench.turnaround",
                loadgen_args(
                    stack,
                    pattern=pattern,
                    clients=THROUGHPUT_CLIENTS,
                    instances=1,
                    duration=THROUGHPUT_SECONDS,
                    warmup_seconds=THROUGHPUT_WARMUP_SECONDS,
                ),
                timeout=THROUGHPUT_SECONDS + 240,
            )
            after = baselines.noop_round_trips(stack, THROUGHPUT_CLIENTS, baselines.NOOP_SECONDS)
            run["noop"] = adjacent_noop(before, after)
            runs[f"{pattern}_{THROUGHPUT_CLIENTS}"] = run
            before = after
    return {"runs": runs}


def _one_client_runs(stack: Stack) -> dict[str, dict[str, Any]]:
    """Each pattern at one client, in slices between slices of no-op round trips."""

    def run(pattern: str) -> dict[str, Any]:
        args = loadgen_args(
            stack,
            pattern=pattern,
            clients=1,
            instances=1,
            jobs=TURNAROUND_JOBS // TURNAROUND_SLICES,
            warmup_jobs=TURNAROUND_WARMUP_JOBS // TURNAROUND_SLICES,
            samples=True,
        )
        return metered(stack, "bench.turnaround", args, timeout=240)

    def noop() -> dict[str, Any]:
        return baselines.noop_round_trips(stack, 1, NOOP_SLICE_SECONDS, samples=True)

    return slices.sliced(TURNAROUND_PATTERNS, TURNAROUND_SLICES, run, noop)


def adjacent_noop(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The no-op figures around a run: the means of the two, and each."""
    return {
        "tasks_per_s": round((before["tasks_per_s"] + after["tasks_per_s"]) / 2, 2),
        "p50_ms": round((before["p50_ms"] + after["p50_ms"]) / 2, 3),
        "errors": before["errors"] + after["errors"],
        "before": {k: before[k] for k in ("tasks_per_s", "p50_ms", "p99_ms")},
        "after": {k: after[k] for k in ("tasks_per_s", "p50_ms", "p99_ms")},
    }


def longpolls(stack: Stack, _options: Options) -> dict[str, Any]:
    """2,000 long-polls at once with the worker stopped (no job ends): the web's memory and
    CPU while they wait, and the time other requests take meanwhile."""
    stack.stop("worker")
    try:
        restart_web(stack, extra_env=LONG_POLL_ENV)
        web = stack.procs["web"].popen.pid
        args = ["--url", stack.base_url, "--web-pid", str(web), "--waiters", str(LONG_POLLS)]
        figures = run_json("bench.longpolls", args, stack.env, timeout=240)
    finally:
        restart_web(stack)
        restart_worker(stack)  # it drains the jobs left queued before the next scenario
    return figures


def sizes(stack: Stack, _options: Options) -> dict[str, Any]:
    """One client, jobs of 1, 10, 100 and 1000 instances: turnaround of each size."""
    by_size: dict[str, Any] = {}
    for n in SIZES:
        by_size[str(n)] = loadgen(
            stack,
            clients=1,
            jobs=SIZES_JOBS,
            warmup_jobs=SIZES_WARMUP_JOBS,
            instances=n,
            timeout=180,
        )
    p50_small = by_size[str(SIZES[0])]["p50_ms"]
    p50_large = by_size[str(SIZES[-1])]["p50_ms"]
    ratio = round(p50_large / p50_small, 2) if p50_small and p50_large else None
    return {
        "p50_ms": {n: f["p50_ms"] for n, f in by_size.items()},
        "p99_ms": {n: f["p99_ms"] for n, f in by_size.items()},
        "errors": sum(f["errors"] for f in by_size.values()),
        f"ratio_{SIZES[-1]}_to_{SIZES[0]}": ratio,
        "by_size": by_size,
    }


def limits(stack: Stack, options: Options) -> dict[str, Any]:
    """Throughput with per-key rate limiting off, then on (a limit that never refuses), in
    alternating pairs, so that the machine's load drifting hits both alike."""
    runs: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
    for _round in range(LIMITS_ROUNDS):
        for mode in ("off", "on"):
            env = {
                "LIFEBOAT_RATE_LIMIT_ENABLED": "true" if mode == "on" else "false",
                "LIFEBOAT_RATE_LIMIT_PER_SECOND": str(LIMITS_RATE),
            }
            restart_web(stack, WEB_APP, env)  # the bench's admin key (LIFEBOAT_API_KEY)
            runs[mode].append(throughput(stack, options))
    restart_web(stack)  # the plain web again, for the scenarios after this one
    figures: dict[str, Any] = {"limit_per_second": LIMITS_RATE, "clients": THROUGHPUT_CLIENTS}
    for mode, found in runs.items():
        figures[f"jobs_per_s_{mode}"] = round(sum(r["jobs_per_s"] for r in found) / len(found), 2)
        figures[f"p99_ms_{mode}"] = max(r["p99_ms"] or 0.0 for r in found)
        figures[f"errors_{mode}"] = sum(r["errors"] for r in found)
    # each on run over the off run just before it: the machine's load drifts between pairs
    pairs = sorted(
        on["jobs_per_s"] / off["jobs_per_s"]
        for off, on in zip(runs["off"], runs["on"], strict=True)
    )
    figures["ratio_on_to_off_by_pair"] = [round(r, 3) for r in pairs]
    figures["ratio_on_to_off"] = round(statistics.median(pairs), 3)
    figures["runs"] = runs
    return figures


@dataclass(frozen=True)
class Scenario:
    name: str
    run: Callable[[Stack, Options], dict[str, Any]]


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario("latency", latency),
        Scenario("throughput", throughput),
        Scenario("sizes", sizes),
        Scenario("limits", limits),
        Scenario("shadow", lambda stack, options: shadow.compare(stack, options, throughput)),
        Scenario("turnaround", turnaround),
        Scenario("longpolls", longpolls),
    )
}
