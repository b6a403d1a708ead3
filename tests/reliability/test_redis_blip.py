"""A Redis restart under ``make run``'s supervisor: the platform stays up, no accepted job is lost.

The platform runs as ``scripts/run.py`` starts it (supervisord, the same process
list and configuration) on free ports, against a redis-server with AOF
(``appendfsync everysec``) that the test starts, SIGKILLs and starts again 3 s
later on the same port and data directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import requests

from core.keys import Keys
from core.settings import Settings
from devsupport import (
    LOOPBACK,
    ROOT,
    WORKER_READY_MARK,
    KeyedHTTP,
    Proc,
    free_port,
    http_ok,
    redis_command,
    stack_env,
    start,
    wait_until,
)
from scripts import supervision
from scripts.run import app_processes, redis_environment
from tests.payloads import passengers

pytestmark = pytest.mark.integration

CLIENTS = 4  # threads submitting prediction jobs
PAUSE = 0.05  # seconds between two submissions of one client
DOWN_SECONDS = 3.0  # how long Redis stays down
SAFE_BEFORE_KILL = 1.0  # a job accepted this long before the kill is on disk (everysec)
FINISH_TIMEOUT = 150.0  # seconds for every such job to finish (the stale-job sweep included)
START_TIMEOUT = 120.0  # seconds for the platform to come up
STOP_TIMEOUT = 120.0  # seconds supervisord has to stop every process in order


def aof_redis_command(port: int, data: Path) -> list[str]:
    """The private redis-server with an append-only file, fsynced every second."""
    return [*redis_command(port, data), "--appendonly", "yes", "--appendfsync", "everysec"]


@dataclass
class Platform:
    """The platform under supervisord, and the Redis it uses."""

    env: dict[str, str]
    config: Path
    redis_port: int
    redis_dir: Path
    logdir: Path
    supervisor: Proc | None = None
    redis: Proc | None = None
    procs: list[str] = field(default_factory=list)

    @property
    def http(self) -> KeyedHTTP:
        """HTTP with the admin key, which the web makes from its environment when it starts."""
        return KeyedHTTP(self.env["LIFEBOAT_BOOTSTRAP_ADMIN_KEY"])

    @property
    def web(self) -> str:
        return f"http://{LOOPBACK}:{self.env['LIFEBOAT_WEB_PORT']}"

    def start_redis(self) -> None:
        self.redis = start(
            "redis", aof_redis_command(self.redis_port, self.redis_dir), self.env, self.logdir
        )

    def redis_client(self) -> redis.Redis:
        return redis.Redis(host=LOOPBACK, port=self.redis_port, socket_timeout=10)

    def statuses(self) -> dict[str, str]:
        out = subprocess.run(
            supervision.supervisorctl_command(self.config, "status"),
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
        ).stdout
        return {line.split()[0]: line.split()[1] for line in out.splitlines() if line.strip()}

    def log(self, name: str) -> str:
        path = self.config.parent / "log" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def platform(models_dir: Path, tmp_path: Path) -> Iterator[Platform]:
    var = tmp_path / "var"
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    port = free_port()
    url = f"redis://{LOOPBACK}:{port}/0"
    env = stack_env(
        url,
        models_dir,
        tmp_path / "storage",
        LIFEBOAT_REPORTS_WORKER_METRICS_PORT=str(free_port()),
        LIFEBOAT_FLOWER_PORT=str(free_port()),
        LIFEBOAT_EXPORTER_PORT=str(free_port()),
        LIFEBOAT_WORKER_CONCURRENCY="1",
        LIFEBOAT_WORKER_GRACE_SECONDS="10",
        FLOWER_BASIC_AUTH="test:test",
    )
    env.update(redis_environment(url))
    settings = Settings(
        **{k[len("LIFEBOAT_") :].lower(): v for k, v in env.items() if k.startswith("LIFEBOAT_")}
    )
    procs = app_processes(settings, var)
    config = supervision.write_config(procs, settings, ROOT, var)
    p = Platform(env, config, port, redis_dir, tmp_path / "logs", procs=[n for n, _ in procs])
    p.start_redis()
    p.supervisor = start("supervisord", supervision.supervisord_command(config), env, p.logdir)
    try:
        wait_until(lambda: http_ok(p.web + "/ready"), START_TIMEOUT, "the web", p.supervisor)
        wait_until(
            lambda: WORKER_READY_MARK in p.log("worker"), START_TIMEOUT, "the worker", p.supervisor
        )
        yield p
    finally:
        p.supervisor.stop(timeout=STOP_TIMEOUT)
        if p.redis:
            p.redis.stop()


def submit_until(platform: Platform, stop: threading.Event, accepted: list[tuple[str, float]]):
    """One client: submit jobs until ``stop``; keep (id, when the answer came) of each accepted."""
    session = requests.Session()
    session.headers.update(platform.http.headers)
    while not stop.is_set():
        try:
            r = session.post(
                platform.web + "/api/v1/predictions", json={"instances": passengers(2)}, timeout=10
            )
            if r.ok:
                accepted.append((r.json()["id"], time.time()))
        except requests.RequestException:
            pass  # Redis is down: the web answers 503, or a connection breaks
        time.sleep(PAUSE)


def test_a_redis_restart_loses_no_job_accepted_before_it_and_the_platform_stays_up(
    platform: Platform,
) -> None:
    accepted: list[tuple[str, float]] = []
    stop = threading.Event()
    clients = [
        threading.Thread(target=submit_until, args=(platform, stop, accepted))
        for _ in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    time.sleep(4)
    assert platform.redis is not None
    killed_at = time.time()
    os.kill(platform.redis.popen.pid, signal.SIGKILL)
    platform.redis.popen.wait(5)
    time.sleep(DOWN_SECONDS)
    platform.start_redis()
    time.sleep(5)
    stop.set()
    for client in clients:
        client.join()

    before = [job_id for job_id, at in accepted if at < killed_at - SAFE_BEFORE_KILL]
    assert len(before) > 50  # the load was real
    keys = Keys()
    redis_client = platform.redis_client()

    def statuses() -> list[str]:
        pipe = redis_client.pipeline(transaction=False)
        for job_id in before:
            pipe.hget(keys.job(job_id), "status")
        return [(s or b"missing").decode() for s in pipe.execute()]

    wait_until(lambda: set(statuses()) == {"succeeded"}, FINISH_TIMEOUT, "the jobs accepted before")
    # the platform answers again, and every process is running (restarted if it crashed)
    after = platform.http.post(
        platform.web + "/api/v1/predictions",
        params={"wait": 10},
        json={"instances": passengers(1)},
        timeout=20,
    )
    assert after.json()["status"] == "succeeded"
    wait_until(
        lambda: set(platform.statuses().values()) == {"RUNNING"}, 60, "every process running"
    )
    assert set(platform.statuses()) == set(platform.procs)
