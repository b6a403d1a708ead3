"""Running a bench tool in its own process and reading the JSON it prints, and a tool's
side of it: figures measured against a private redis-server, printed as one JSON line."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from devsupport import PY, ROOT, start_redis

log = logging.getLogger(__name__)


def run_json(module: str, args: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    """Run ``python -m module args`` from the project root; its last stdout line, parsed."""
    cmd = [PY, "-m", module, *args]
    log.debug("running %s", " ".join(cmd))
    done = subprocess.run(
        cmd,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module} exited {done.returncode}:\n{done.stderr.decode()[-4000:]}")
    if done.stderr.strip():
        log.debug("%s stderr:\n%s", module, done.stderr.decode()[-2000:])
    lines = done.stdout.decode().strip().splitlines()
    if not lines:
        raise RuntimeError(f"{module} printed nothing:\n{done.stderr.decode()[-4000:]}")
    return json.loads(lines[-1])


def print_on_private_redis(measure: Callable[[str], dict[str, Any]], prefix: str) -> int:
    """``measure(url)`` against a redis-server of its own (files in a temporary directory
    named from ``prefix``, stopped after), its figures printed as one JSON line."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        server = start_redis(Path(tmp))
        try:
            figures = measure(f"{server.url}/0")
        finally:
            server.proc.stop()
    json.dump(figures, sys.stdout)
    sys.stdout.write("\n")
    return 0
