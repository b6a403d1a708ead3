"""Optional sampling profiles of the web and worker processes while a scenario runs.

Uses py-spy (``pip install py-spy``; not a project dependency) in raw
(collapsed-stack) format, then ranks functions by self and inclusive samples.
Idle samples are not recorded, so ``busy_share`` is the share of the time a
process spent on the CPU or in a non-idle syscall.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.stack import Stack
from devsupport import PY

SAMPLE_RATE = 100  # samples per second per process
TOP_N = 15


def py_spy() -> str | None:
    """The py-spy executable next to this Python, else on PATH."""
    beside = Path(PY).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass
class Profile:
    role: str
    pid: int
    path: Path
    popen: subprocess.Popen[bytes]


def _targets(stack: Stack) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for name in ("web", "worker"):
        proc = stack.procs.get(name)
        if proc is None:
            continue
        parent = psutil.Process(proc.popen.pid)
        out.append((f"{name}-main", parent.pid))
        out += [(f"{name}-child", child.pid) for child in parent.children(recursive=False)]
    return out


@contextlib.contextmanager
def profiling(stack: Stack, seconds: float, outdir: Path) -> Iterator[list[Profile]]:
    """Record every web and worker process for ``seconds`` while the body runs."""
    exe = py_spy()
    if exe is None:
        raise RuntimeError("py-spy is not installed (pip install py-spy)")
    outdir.mkdir(parents=True, exist_ok=True)
    profiles = []
    for role, pid in _targets(stack):
        path = outdir / f"{role}-{pid}.txt"
        cmd = [exe, "record", "--pid", str(pid), "--rate", str(SAMPLE_RATE)]
        cmd += ["--duration", str(int(seconds)), "--format", "raw", "--nonblocking"]
        cmd += ["-o", str(path)]
        popen = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        profiles.append(Profile(role, pid, path, popen))
    try:
        yield profiles
    finally:
        for prof in profiles:
            try:
                prof.popen.wait(timeout=seconds + 30)
            except subprocess.TimeoutExpired:
                prof.popen.terminate()
                prof.popen.wait(5)


def _frame_name(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"
    name, _, where = frame.partition(" (")
    file = where.rsplit(":", 1)[0].rsplit("/", 1)[-1].rstrip(")")
    return f"{name} ({file})" if file else name


def top_functions(path: Path, seconds: float, n: int = TOP_N) -> dict[str, Any]:
    """Self and inclusive sample shares of the top ``n`` functions of one raw profile."""
    self_counts: Counter[str] = Counter()
    incl_counts: Counter[str] = Counter()
    total = 0
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [_frame_name(f) for f in stack.split(";")]
            total += count
            self_counts[frames[-1]] += count
            for name in set(frames):
                incl_counts[name] += count

    def share(counter: Counter[str]) -> list[list[Any]]:
        return [[name, round(c / total, 3)] for name, c in counter.most_common(n)] if total else []

    return {
        "samples": total,
        "busy_share": round(total / (SAMPLE_RATE * seconds), 3),
        "self": share(self_counts),
        "inclusive": share(incl_counts),
    }


def summarize(profiles: list[Profile], seconds: float) -> dict[str, Any]:
    """Top functions per process, keyed ``role-pid``."""
    return {f"{p.role}-{p.pid}": top_functions(p.path, seconds) for p in profiles}
