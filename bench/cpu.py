"""CPU time used by each part of the stack while a scenario runs (where the cores go).

Besides CPU seconds by process, the meter diffs Redis's ``INFO commandstats`` over the
same window; :func:`per_job` turns both into CPU milliseconds and Redis commands per job
(web, worker, Redis), the figures that show where a change saved, whatever the machine's
other load does to jobs/s.
"""

from __future__ import annotations

import contextlib
import os
import resource
from dataclasses import dataclass, field
from typing import Any

import psutil
import redis

from bench.stack import Stack

GROUPS = ("web", "worker", "redis")  # the stack parts CPU per job is reported for


def _cpu_seconds(proc: psutil.Process) -> float:
    with contextlib.suppress(psutil.Error):
        t = proc.cpu_times()
        return t.user + t.system
    return 0.0


def snapshot(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of every stack process, by role (main process vs its children)."""
    out: dict[str, float] = {}
    for name, proc in stack.procs.items():
        try:
            parent = psutil.Process(proc.popen.pid)
            children = parent.children(recursive=True)
        except psutil.Error:
            continue
        out[f"{name}-main"] = _cpu_seconds(parent)
        if children:
            out[f"{name}-children"] = sum(_cpu_seconds(c) for c in children)
    return out


def command_calls(redis_url: str) -> dict[str, int]:
    """Calls so far of every Redis command (``INFO commandstats``), by command name."""
    with contextlib.suppress(redis.RedisError):
        client = redis.Redis.from_url(redis_url, socket_timeout=5)
        try:
            stats = client.info("commandstats")
        finally:
            client.close()
        return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
    return {}


def _machine_busy_seconds() -> float:
    t = psutil.cpu_times()
    return sum(t) - t.idle - getattr(t, "iowait", 0.0)


def _reaped_children_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


@dataclass
class CpuMeter:
    """CPU seconds used by the stack and by the load process (reaped children) meanwhile."""

    stack: Stack
    wall: float = 0.0
    before: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    calls_before: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    machine: float = 0.0
    _reaped: float = 0.0
    _wall0: float = 0.0
    _machine0: float = 0.0

    def start(self) -> None:
        self.calls_before = command_calls(self.stack.redis_url)
        self.before = snapshot(self.stack)
        self._reaped = _reaped_children_seconds()
        self._wall0 = os.times().elapsed
        self._machine0 = _machine_busy_seconds()

    def stop(self) -> None:
        after = snapshot(self.stack)
        calls = command_calls(self.stack.redis_url)
        self.calls = {
            name: n - self.calls_before.get(name, 0)
            for name, n in calls.items()
            if n > self.calls_before.get(name, 0)
        }
        self.wall = os.times().elapsed - self._wall0
        self.machine = _machine_busy_seconds() - self._machine0
        self.used = {k: round(v - self.before.get(k, 0.0), 3) for k, v in after.items()}
        # the load generator has exited and been reaped by now
        self.used["load-process"] = round(_reaped_children_seconds() - self._reaped, 2)

    def report(self) -> dict[str, object]:
        cores = os.cpu_count() or 1
        total = sum(self.used.values())
        wall = self.wall or 1e-9
        return {
            "wall_s": round(self.wall, 2),
            "cpu_seconds": dict(sorted(self.used.items(), key=lambda kv: -kv[1])),
            "cores_busy": round(total / wall, 2),
            # processes outside this benchmark (other jobs on the machine): noise if not ~0
            "other_cores_busy": round(max(self.machine - total, 0.0) / wall, 2),
            "cores": cores,
            "redis_commands": dict(sorted(self.calls.items(), key=lambda kv: -kv[1])),
        }


def per_job(cpu: dict[str, Any], jobs: int) -> dict[str, Any]:
    """CPU milliseconds and Redis commands per job from a meter's report, over ``jobs`` jobs
    (every job the meter's window saw through, warm-up included)."""
    if jobs <= 0:
        return {}
    seconds: dict[str, float] = cpu["cpu_seconds"]
    ms = {
        group: round(
            1000 * sum(v for k, v in seconds.items() if k.startswith(f"{group}-")) / jobs, 3
        )
        for group in GROUPS
    }
    ms["stack"] = round(sum(ms.values()), 3)
    commands = dict(cpu.get("redis_commands", {}))
    if "info" in commands:  # the meter's own INFO (the one before the window) is not the stack's
        commands["info"] -= 1
    calls = {k: round(v / jobs, 2) for k, v in commands.items()}
    return {
        "jobs": jobs,
        "cpu_ms": ms,
        "redis_commands": round(sum(calls.values()), 2),
        "redis_commands_by_name": {k: v for k, v in calls.items() if v >= 0.01},
    }
