"""Starting, watching and stopping processes by process group.

Every process runs in its own session from the project root, its output in a log
file, and is stopped by process group, so that what it forked (pool children,
gunicorn workers) goes with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the project root: every process runs there
PY = sys.executable
POLL_SECONDS = 0.1  # pause between two checks of wait_until
STOP_TIMEOUT = 15.0  # seconds a process group has after SIGTERM before SIGKILL
LOG_TAIL_CHARS = 4000  # characters of a process log quoted in an error


@dataclass
class Proc:
    """A started process, its name and the file its output goes to."""

    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> None:
        """Signal the process group; SIGKILL it if the leader has not gone after ``timeout``,
        and whatever the leader left behind in the group (pool children, gunicorn workers)."""
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, sig)
            self.popen.wait(timeout)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def start(name: str, cmd: list[str], env: dict[str, str], logdir: Path, cwd: Path = ROOT) -> Proc:
    """Start ``cmd`` in a session of its own, from ``cwd`` (the project root), logging to
    ``logdir``."""
    logdir.mkdir(parents=True, exist_ok=True)
    log = logdir / f"{name}-{int(time.time() * 1000)}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Proc(name, popen, log)


def wait_until(
    check: Callable[[], object], timeout: float, what: str, proc: Proc | None = None
) -> None:
    """Return once ``check()`` is true; raise when ``proc`` exits or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited while waiting for {what}:\n{proc.output()}")
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 — not up yet
            pass
        time.sleep(POLL_SECONDS)
    tail = proc.output()[-LOG_TAIL_CHARS:] if proc else ""
    raise TimeoutError(f"timed out waiting for {what}\n{tail}")


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """Whether ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False
