"""CPU time used by each part of the stack while a scenario runs (where the cores go)."""

from __future__ import annotations

import contextlib
import os
import resource
from dataclasses import dataclass, field

import psutil

from bench.stack import Stack


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
    machine: float = 0.0
    _reaped: float = 0.0
    _wall0: float = 0.0
    _machine0: float = 0.0

    def start(self) -> None:
        self.before = snapshot(self.stack)
        self._reaped = _reaped_children_seconds()
        self._wall0 = os.times().elapsed
        self._machine0 = _machine_busy_seconds()

    def stop(self) -> None:
        after = snapshot(self.stack)
        self.wall = os.times().elapsed - self._wall0
        self.machine = _machine_busy_seconds() - self._machine0
        self.used = {k: round(v - self.before.get(k, 0.0), 2) for k, v in after.items()}
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
        }
