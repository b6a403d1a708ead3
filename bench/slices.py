"""One-client turnaround runs taken in slices, alternating with raw no-op round trips.

A 1-client ratio compares two p50s of a few milliseconds. On this shared machine the
no-op's p50 moved by a third within a run (5.97 ms before a 5 s run, 4.34 ms after it,
2026-12-03), so a run measured between two no-op windows could land at either end.
Here each pattern's jobs go in slices, and a slice of no-op round trips comes before
the first slice and after every slice: both sides sample the same minutes. The slices'
samples are pooled: a pattern's percentiles are those of all its jobs, the no-op's
those of all its round trips, its CPU and Redis commands the sums over its slices.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from bench.cpu import per_job
from bench.loadgen import stage_percentiles
from bench.stats import percentiles_ms

SUMMED = (
    "count",
    "succeeded",
    "errors",
    "warmup_jobs",
    "killed_clients",
    "responses",
    "rate_limited_responses",
)


def sliced(
    patterns: tuple[str, ...],
    slices: int,
    run: Callable[[str], dict[str, Any]],
    noop: Callable[[], dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Each pattern's ``slices`` runs (``run(pattern)``, with samples), a no-op slice
    (``noop()``, with samples) first and after each run; every pattern's pooled figures,
    with the no-op's pooled over all its slices under ``noop``."""
    noops = [noop()]
    runs: dict[str, list[dict[str, Any]]] = {p: [] for p in patterns}
    for _ in range(slices):
        for pattern in patterns:
            runs[pattern].append(run(pattern))
            noops.append(noop())
    baseline = pooled_noop(noops)
    return {p: {**pooled_run(parts), "noop": baseline} for p, parts in runs.items()}


def pooled_noop(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The no-op slices' round trips as one: percentiles of them all, tasks a second over
    the slices' measured seconds, and each slice's p50."""
    trips = [t for part in parts for t in part["samples"]["round_trip_s"]]
    seconds = sum(part["duration_s"] for part in parts)
    figures = percentiles_ms(trips)
    return {
        "tasks_per_s": round(len(trips) / seconds, 2) if seconds else 0.0,
        "p50_ms": figures["p50_ms"],
        "p99_ms": figures["p99_ms"],
        "errors": sum(part["errors"] for part in parts),
        "slices": len(parts),
        "slice_p50_ms": [part["p50_ms"] for part in parts],
    }


def pooled_run(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """A load generator's slices (each with ``samples`` and ``cpu``) as one run's figures:
    counts summed, percentiles over every job, CPU per job over every job."""
    first = parts[0]
    out: dict[str, Any] = {k: first[k] for k in ("clients", "instances_per_job", "pattern")}
    out.update({k: sum(part[k] for part in parts) for k in SUMMED})
    for k in ("error_kinds", "first_status"):
        out[k] = dict(sum((Counter(part[k]) for part in parts), Counter()))
    window = sum(part["window_s"] for part in parts)
    out["window_s"] = round(window, 3)
    out["stopped_by"] = first["stopped_by"]
    # each slice's rate over its own window, weighted by that window: jobs over seconds
    out["jobs_per_s"] = round(sum(p["jobs_per_s"] * p["window_s"] for p in parts) / window, 2)
    out.update(percentiles_ms([t for p in parts for t in p["samples"]["turnaround_s"]]))
    out["stages"] = stage_percentiles([s for p in parts for s in p["samples"]["stages_s"]])
    out["own_cpu_s"] = round(sum(part["own_cpu_s"] for part in parts), 2)
    out["cpu"] = pooled_cpu([part["cpu"] for part in parts])
    out["per_job"] = per_job(out["cpu"], out["count"] + out["warmup_jobs"])
    out["slices"] = len(parts)
    return out


def pooled_cpu(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """CPU meters' reports (``bench.cpu.CpuMeter.report``) of consecutive windows as one."""
    wall = sum(r["wall_s"] for r in reports) or 1e-9
    seconds: Counter[str] = sum((Counter(r["cpu_seconds"]) for r in reports), Counter())
    commands: Counter[str] = sum((Counter(r["redis_commands"]) for r in reports), Counter())
    if commands["info"]:  # each meter's INFO before its window; ``per_job`` takes one off
        commands["info"] -= len(reports) - 1
    other = sum(r["other_cores_busy"] * r["wall_s"] for r in reports)
    return {
        "wall_s": round(wall, 2),
        "cpu_seconds": {k: round(v, 3) for k, v in seconds.most_common()},
        "cores_busy": round(sum(seconds.values()) / wall, 2),
        "other_cores_busy": round(other / wall, 2),
        "cores": reports[0]["cores"],
        "redis_commands": dict(commands.most_common()),
    }
