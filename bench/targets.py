"""The targets of issues 3 and 17, checked against the figures (printed, never asserted)."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

LATENCY_P50_MS = 8.0
LATENCY_P99_MS = 30.0
THROUGHPUT_JOBS_PER_S = 400.0
THROUGHPUT_P99_MS = 250.0
THROUGHPUT_NOOP_SHARE = 0.6  # of the raw Celery no-op rate measured in the same run
SIZES_RATIO = 3.0  # 1000-instance turnaround over 1-instance turnaround
LIMITS_SHARE = 0.95  # throughput with rate limiting on, over the same with it off
# issue 17, against the raw Celery no-op measured in the same run
POLL_1_P50_NOOP = 2.0  # POST-then-poll p50, one client, over the no-op round trip's p50
POLL_32_NOOP_SHARE = 1.0  # POST-then-poll jobs/s, 32 clients, over the no-op tasks/s
WAIT_32_NOOP_SHARE = 1.5  # POST ?wait jobs/s, 32 clients, over the no-op tasks/s
LONG_POLL_WEB_MB = 300.0  # the web's RSS (every process) with 2,000 long-polls waiting
LONG_POLL_PROBE_P99_MS = 50.0  # other requests' p99 meanwhile


@dataclass(frozen=True)
class Target:
    scenario: str
    what: str
    value: Callable[[dict[str, Any], dict[str, Any]], float | None]
    compare: Callable[[float, float], bool]
    limit: float
    sign: str

    def check(self, figures: dict[str, Any], baselines: dict[str, Any]) -> dict[str, Any]:
        value = self.value(figures, baselines)
        passed = value is not None and self.compare(value, self.limit)
        return {
            "target": self.what,
            "value": value,
            "limit": f"{self.sign} {self.limit:g}",
            "pass": passed,
        }


LE, GE = operator.le, operator.ge


def _ratio(value: float | None, base: float | None) -> float | None:
    return round(value / base, 3) if value and base else None


def _run(f: dict[str, Any], name: str) -> dict[str, Any]:
    return f["runs"][name]


def _noop(f: dict[str, Any], name: str, field: str, b: dict[str, Any]) -> float | None:
    """A turnaround run's no-op figure (``tasks_per_s`` or ``p50_ms``): measured around
    the run when it was, else the run's baseline."""
    around = _run(f, name).get("noop")
    if around is not None:
        return around[field]
    return b.get("celery_noop_tasks_per_s" if field == "tasks_per_s" else "celery_noop_1_p50_ms")


TARGETS = (
    Target("latency", "p50 ms", lambda f, _b: f["p50_ms"], LE, LATENCY_P50_MS, "<="),
    Target("latency", "p99 ms", lambda f, _b: f["p99_ms"], LE, LATENCY_P99_MS, "<="),
    Target(
        "throughput",
        "jobs/s",
        lambda f, _b: f["jobs_per_s"],
        GE,
        THROUGHPUT_JOBS_PER_S,
        ">=",
    ),
    Target("throughput", "errors", lambda f, _b: f["errors"], LE, 0, "<="),
    Target("throughput", "p99 ms", lambda f, _b: f["p99_ms"], LE, THROUGHPUT_P99_MS, "<="),
    Target(
        "throughput",
        "jobs/s vs Celery no-op",
        lambda f, b: (
            round(f["jobs_per_s"] / b["celery_noop_tasks_per_s"], 3)
            if b.get("celery_noop_tasks_per_s")
            else None
        ),
        GE,
        THROUGHPUT_NOOP_SHARE,
        ">=",
    ),
    Target(
        "limits",
        "jobs/s limits on / off",
        lambda f, _b: f["ratio_on_to_off"],
        GE,
        LIMITS_SHARE,
        ">=",
    ),
    Target("limits", "errors", lambda f, _b: f["errors_on"] + f["errors_off"], LE, 0, "<="),
    Target(
        "turnaround",
        "poll 1 client p50 / no-op p50",
        lambda f, b: _ratio(_run(f, "poll_1")["p50_ms"], _noop(f, "poll_1", "p50_ms", b)),
        LE,
        POLL_1_P50_NOOP,
        "<=",
    ),
    Target(
        "turnaround",
        "poll 32 jobs/s / no-op",
        lambda f, b: _ratio(
            _run(f, "poll_32")["jobs_per_s"], _noop(f, "poll_32", "tasks_per_s", b)
        ),
        GE,
        POLL_32_NOOP_SHARE,
        ">=",
    ),
    Target(
        "turnaround",
        "poll 32 p99 ms",
        lambda f, _b: _run(f, "poll_32")["p99_ms"],
        LE,
        THROUGHPUT_P99_MS,
        "<=",
    ),
    Target("turnaround", "poll 32 errors", lambda f, _b: _run(f, "poll_32")["errors"], LE, 0, "<="),
    Target(
        "turnaround",
        "wait 32 jobs/s / no-op",
        lambda f, b: _ratio(
            _run(f, "wait_32")["jobs_per_s"], _noop(f, "wait_32", "tasks_per_s", b)
        ),
        GE,
        WAIT_32_NOOP_SHARE,
        ">=",
    ),
    Target("turnaround", "wait 32 errors", lambda f, _b: _run(f, "wait_32")["errors"], LE, 0, "<="),
    Target(
        "longpolls",
        "web MB, 2000 waiting",
        lambda f, _b: f["web_rss_mb_peak"],
        LE,
        LONG_POLL_WEB_MB,
        "<=",
    ),
    Target(
        "longpolls",
        "other requests p99 ms",
        lambda f, _b: f["probe_p99_ms"],
        LE,
        LONG_POLL_PROBE_P99_MS,
        "<=",
    ),
    Target(
        "longpolls",
        "errors",
        lambda f, _b: f["probe_errors"] + f["long_poll_errors"],
        LE,
        0,
        "<=",
    ),
    Target(
        "sizes",
        "p50 1000 / p50 1",
        lambda f, _b: f["ratio_1000_to_1"],
        LE,
        SIZES_RATIO,
        "<=",
    ),
)


def check(scenario: str, figures: dict[str, Any], baselines: dict[str, Any]) -> list[dict]:
    """Pass/fail of every target of ``scenario``."""
    return [t.check(figures, baselines) for t in TARGETS if t.scenario == scenario]
