"""The bench's one-client runs in slices: the order of the slices, and how they are pooled."""

from __future__ import annotations

from typing import Any

from bench import slices


def a_slice(turnarounds: list[float], window: float, cpu_web: float) -> dict[str, Any]:
    return {
        "clients": 1,
        "instances_per_job": 1,
        "pattern": "poll",
        "count": len(turnarounds),
        "succeeded": len(turnarounds),
        "errors": 0,
        "error_kinds": {},
        "first_status": {"202": len(turnarounds)},
        "warmup_jobs": 1,
        "killed_clients": 0,
        "responses": 2 * len(turnarounds),
        "rate_limited_responses": 2 * len(turnarounds),
        "window_s": window,
        "stopped_by": "count",
        "jobs_per_s": len(turnarounds) / window,
        "own_cpu_s": 0.1,
        "samples": {
            "turnaround_s": turnarounds,
            "stages_s": [[t / 4] * 4 for t in turnarounds],
        },
        "cpu": {
            "wall_s": window,
            "cpu_seconds": {"web-children": cpu_web, "worker-main": 0.01},
            "other_cores_busy": 0.0,
            "cores": 2,
            "redis_commands": {"evalsha": 3 * len(turnarounds), "info": 1},
        },
    }


def a_noop(trips: list[float], errors: int = 0) -> dict[str, Any]:
    return {
        "duration_s": 1.0,
        "errors": errors,
        "p50_ms": sorted(trips)[len(trips) // 2] * 1000,
        "samples": {"round_trip_s": trips},
    }


def test_a_noop_slice_comes_first_and_after_every_run_slice() -> None:
    order: list[str] = []

    def run(pattern: str) -> dict[str, Any]:
        order.append(pattern)
        return a_slice([0.008], 1.0, 0.01)

    def noop() -> dict[str, Any]:
        order.append("noop")
        return a_noop([0.004])

    pooled = slices.sliced(("poll", "wait"), 2, run, noop)
    assert order == ["noop", "poll", "noop", "wait", "noop", "poll", "noop", "wait", "noop"]
    assert pooled["poll"]["slices"] == 2
    assert pooled["wait"]["noop"]["slices"] == 5


def test_percentiles_are_over_every_job_of_every_slice_not_a_mean_of_slices() -> None:
    # slice p50s 1 ms and 10 ms; over all nine jobs the p50 is the fifth: 10 ms
    pooled = slices.pooled_run(
        [
            a_slice([0.001, 0.001, 0.001], 1.0, 0.5),
            a_slice([0.010, 0.010, 0.010, 0.020, 0.020, 0.020], 2.0, 1.0),
        ]
    )
    assert pooled["p50_ms"] == 10.0
    assert pooled["stages"]["queued"]["p50_ms"] == 2.5
    assert pooled["count"] == 9
    assert pooled["first_status"] == {"202": 9}
    assert pooled["jobs_per_s"] == 3.0  # 9 jobs over 3 s of windows
    # 1.5 CPU seconds of the web over 11 jobs (9 measured, 2 warm-up)
    assert pooled["per_job"]["cpu_ms"]["web"] == round(1500 / 11, 3)
    assert pooled["per_job"]["redis_commands_by_name"] == {"evalsha": round(27 / 11, 2)}


def test_the_noop_is_pooled_over_its_slices() -> None:
    pooled = slices.pooled_noop(
        [a_noop([0.002, 0.002, 0.002]), a_noop([0.006, 0.006], errors=1), a_noop([0.006])]
    )
    assert pooled["p50_ms"] == 4.0  # six trips: the mean of the third and fourth
    assert pooled["tasks_per_s"] == 2.0
    assert pooled["errors"] == 1
    assert pooled["slice_p50_ms"] == [2.0, 6.0, 6.0]
