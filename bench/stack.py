"""A private Lifeboat stack for the benchmark: Redis, a model, a Celery worker, the web.

Everything binds to loopback on free ports and lives in a temporary directory,
so ``make bench`` runs the same whether or not ``make run`` is up. Processes are
started and stopped as the integration tests start them (:mod:`devsupport`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from devsupport import (
    LOOPBACK,
    PY,
    ROOT,
    UNBINDING_RATE,
    WEB_APP,
    Proc,
    free_port,
    http_ok,
    new_token,
    start,
    start_redis,
    wait_for_worker,
    wait_until,
    web_command,
    worker_command,
)

log = logging.getLogger(__name__)

WORKER_CONCURRENCY = 2  # pool processes of the Lifeboat worker (one per core)
WORKER_LOGLEVEL = "INFO"  # the pool children say "ready" at INFO
START_TIMEOUT = 120.0  # seconds a process may take to come up
TRAIN_TIMEOUT = 300.0  # seconds training a model may take on a fresh clone


def installed_models(models_dir: Path) -> bool:
    """Whether ``models_dir`` holds at least one model version."""
    from ml.registry import Registry

    return bool(Registry(models_dir).versions())


@dataclass
class Stack:
    """The running benchmark stack: URLs, the environment it shares, its processes."""

    workdir: Path
    env: dict[str, str]
    models_dir: Path
    procs: dict[str, Proc] = field(default_factory=dict)

    @property
    def redis_url(self) -> str:
        return self.env["LIFEBOAT_REDIS_URL"]

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK}:{self.env['LIFEBOAT_WEB_PORT']}"

    @property
    def metrics_url(self) -> str:
        return f"http://{LOOPBACK}:{self.env['LIFEBOAT_WORKER_METRICS_PORT']}/metrics"

    @property
    def logdir(self) -> Path:
        return self.workdir / "logs"

    def start(self, name: str, cmd: list[str], extra_env: dict[str, str] | None = None) -> Proc:
        proc = start(name, cmd, {**self.env, **(extra_env or {})}, self.logdir)
        self.procs[name] = proc
        return proc

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None:
            proc.stop()

    def stop_all(self) -> None:
        # the web first (no new jobs), Redis last (the others talk to it while stopping)
        for name in sorted(self.procs, key=lambda n: n == "redis"):
            self.stop(name)

    def check_alive(self) -> None:
        """Raise if a stack process has died (its log tail says why)."""
        for proc in self.procs.values():
            if not proc.alive():
                raise RuntimeError(f"{proc.name} died:\n{proc.output()[-4000:]}")


def _base_env(workdir: Path, redis_port: int, models_dir: Path) -> dict[str, str]:
    # inherited LIFEBOAT_* tuning (micro-batch sizes, web workers, ...) applies; everything
    # that could touch another stack (Redis, ports, files, metrics dir) is private
    env = dict(os.environ)
    token = new_token()
    env.update(
        {
            "LIFEBOAT_REDIS_URL": f"redis://{LOOPBACK}:{redis_port}/0",
            # the web makes this admin key when it starts; the load generator sends it
            "LIFEBOAT_BOOTSTRAP_ADMIN_KEY": token,
            "LIFEBOAT_API_KEY": token,
            "LIFEBOAT_MODELS_DIR": str(models_dir),
            "LIFEBOAT_STORAGE_ROOT": str(workdir / "storage"),
            "LIFEBOAT_METRICS_DIR": str(workdir / "metrics"),
            "LIFEBOAT_WEB_HOST": LOOPBACK,
            "LIFEBOAT_WEB_PORT": str(free_port()),
            "LIFEBOAT_WORKER_METRICS_PORT": str(free_port()),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
    )
    # rate limiting on but never binding: the benches measure its cost, not its refusals
    env.setdefault("LIFEBOAT_RATE_LIMIT_PER_SECOND", str(UNBINDING_RATE))
    return env


def _start_redis(stack: Stack) -> int:
    """A private redis-server; its port."""
    server = start_redis(stack.workdir / "redis")
    stack.procs["redis"] = server.proc
    return server.port


def _models_dir(workdir: Path, *, train: bool) -> Path:
    project_models = Path(os.environ.get("LIFEBOAT_MODELS_DIR") or ROOT / "models")
    if not train and installed_models(project_models):
        return project_models
    target = workdir / "models"
    log.info("training a model into %s (models/ has none, or asked to)", target)
    subprocess.run(
        [PY, "-m", "ml.train", "--models-dir", str(target)],
        cwd=ROOT,
        check=True,
        timeout=TRAIN_TIMEOUT,
        stdout=subprocess.DEVNULL,
    )
    return target


def _start_worker(stack: Stack) -> None:
    proc = stack.start(
        "worker",
        worker_command(
            "predictions,batches",  # the scoring worker, as deployed
            WORKER_CONCURRENCY,
            f"bench-{stack.env['LIFEBOAT_WEB_PORT']}@%h",
            WORKER_LOGLEVEL,
        ),
    )
    wait_for_worker(proc, stack.metrics_url, WORKER_CONCURRENCY, START_TIMEOUT)


def restart_worker(stack: Stack) -> None:
    """Start the stack's worker again (stopped by a scenario), and wait until it is ready."""
    stack.stop("worker")
    _start_worker(stack)


def _start_web(stack: Stack, app: str = WEB_APP, extra_env: dict[str, str] | None = None) -> None:
    proc = stack.start("web", web_command(app), extra_env)
    wait_until(lambda: http_ok(stack.base_url + "/health"), START_TIMEOUT, "web /health", proc)


def restart_web(stack: Stack, app: str = WEB_APP, extra_env: dict[str, str] | None = None) -> None:
    """Serve ``app`` (a gunicorn app spec) with ``extra_env`` on the stack's port instead."""
    stack.stop("web")
    _start_web(stack, app, extra_env)


@contextlib.contextmanager
def running_stack(*, train: bool = False, env: dict[str, str] | None = None) -> Iterator[Stack]:
    """Start Redis, a worker and the web (``env`` added to their environment), and stop them
    at the end.

    The model is the default of ``models/``; one is trained into the temporary
    directory when ``models/`` has none (a fresh clone) or ``train`` is set.
    """
    with tempfile.TemporaryDirectory(prefix="lifeboat-bench-") as tmp:
        workdir = Path(tmp)
        stack = Stack(workdir=workdir, env={}, models_dir=workdir / "models")
        try:
            t0 = time.monotonic()
            stack.models_dir = _models_dir(workdir, train=train)
            redis_port = _start_redis(stack)
            stack.env = {**_base_env(workdir, redis_port, stack.models_dir), **(env or {})}
            _start_worker(stack)
            _start_web(stack)
            log.info(
                "stack up in %.1f s: web %s, redis %s, models %s",
                time.monotonic() - t0,
                stack.base_url,
                stack.redis_url,
                stack.models_dir,
            )
            yield stack
        finally:
            stack.stop_all()
