"""``make run`` itself under a Redis crash: the platform stays up, no accepted job is lost.

``python -m scripts.run`` runs as ``make run`` runs it, pointed at a temporary
``LIFEBOAT_RUN_DIR`` and free ports, with no Redis answering at
``LIFEBOAT_REDIS_URL``: it starts its private Redis (password, append-only file
fsynced every second, in ``<run dir>/redis``) under supervisord beside every other
process. The test SIGKILLs that Redis while clients submit; supervisord starts it
again on the same port and folder, and whatever else exits on the lost
connection (celery-exporter) is restarted too.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import requests

from core.keys import Keys
from devsupport import (
    LOOPBACK,
    PY,
    WORKER_READY_MARK,
    KeyedHTTP,
    Proc,
    free_port,
    http_ok,
    stack_env,
    start,
    wait_until,
)
from scripts import supervision
from tests.payloads import passengers

pytestmark = pytest.mark.integration

CLIENTS = 4  # threads submitting prediction jobs
PAUSE = 0.05  # seconds between two submissions of one client
SAFE_BEFORE_KILL = 1.0  # a job accepted this long before the kill is on disk (everysec)
FINISH_TIMEOUT = 150.0  # seconds for every such job to finish (the stale-job sweep included)
START_TIMEOUT = 180.0  # seconds for make run to bring the platform up
STOP_TIMEOUT = 120.0  # seconds supervisord has to stop every process in order
PROCESSES = {"redis", "worker", "reports", "beat", "web", "flower", "exporter"}


@dataclass
class MakeRun:
    """``python -m scripts.run`` (supervisord once it has started everything) and its files."""

    proc: Proc
    var: Path
    env: dict[str, str]

    @property
    def web(self) -> str:
        return f"http://{LOOPBACK}:{self.env['LIFEBOAT_WEB_PORT']}"

    @property
    def http(self) -> KeyedHTTP:
        """HTTP with the admin key make run wrote to ``<run dir>/api-key``."""
        return KeyedHTTP((self.var / "api-key").read_text().strip())

    def redis_client(self) -> redis.Redis:
        """The private Redis, through the URL (password included) make run keeps for us."""
        url = (self.var / "redis" / "url").read_text().strip()
        return redis.Redis.from_url(url, socket_timeout=10)

    def ctl(self, *args: str) -> str:
        config = self.var / "supervisord.conf"
        return subprocess.run(
            supervision.supervisorctl_command(config, *args),
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
        ).stdout

    def statuses(self) -> dict[str, str]:
        lines = [line.split() for line in self.ctl("status").splitlines() if line.strip()]
        return {words[0]: words[1] for words in lines}

    def log(self, name: str) -> str:
        path = self.var / "log" / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture
def make_run(models_dir: Path, tmp_path: Path) -> Iterator[MakeRun]:
    var = tmp_path / "var"
    env = stack_env(
        f"redis://{LOOPBACK}:{free_port()}/0",  # nothing answers: make run starts its own
        models_dir,
        tmp_path / "storage",
        LIFEBOAT_RUN_DIR=str(var),
        LIFEBOAT_REPORTS_WORKER_METRICS_PORT=str(free_port()),
        LIFEBOAT_FLOWER_PORT=str(free_port()),
        LIFEBOAT_EXPORTER_PORT=str(free_port()),
        LIFEBOAT_WORKER_CONCURRENCY="1",
        LIFEBOAT_WORKER_GRACE_SECONDS="10",
        FLOWER_BASIC_AUTH="test:test",
    )
    run = MakeRun(start("make-run", [PY, "-m", "scripts.run"], env, tmp_path / "logs"), var, env)
    try:
        wait_until(lambda: http_ok(run.web + "/ready"), START_TIMEOUT, "the web", run.proc)
        wait_until(
            lambda: WORKER_READY_MARK in run.log("worker"), START_TIMEOUT, "the worker", run.proc
        )
        yield run
    finally:
        run.proc.stop(timeout=STOP_TIMEOUT)  # SIGTERM: supervisord stops everything in order


def submit_until(run: MakeRun, stop: threading.Event, accepted: list[tuple[str, float]]) -> None:
    """One client: submit jobs until ``stop``; keep (id, when the answer came) of each accepted."""
    session = requests.Session()
    session.headers.update(run.http.headers)
    while not stop.is_set():
        try:
            r = session.post(
                run.web + "/api/v1/predictions", json={"instances": passengers(2)}, timeout=10
            )
            if r.ok:
                accepted.append((r.json()["id"], time.time()))
        except requests.RequestException:
            pass  # Redis is restarting: the web answers 503, or a connection breaks
        time.sleep(PAUSE)


def test_make_run_survives_a_redis_crash_and_finishes_every_job_accepted_before_it(
    make_run: MakeRun,
) -> None:
    assert make_run.statuses().keys() == PROCESSES  # the private Redis is supervised too
    redis_pid = int(make_run.ctl("pid", "redis"))
    accepted: list[tuple[str, float]] = []
    stop = threading.Event()
    clients = [
        threading.Thread(target=submit_until, args=(make_run, stop, accepted))
        for _ in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    time.sleep(4)
    killed_at = time.time()
    os.kill(redis_pid, signal.SIGKILL)
    wait_until(
        lambda: int(make_run.ctl("pid", "redis")) not in (0, redis_pid),
        30,
        "supervisord to start Redis again",
        make_run.proc,
    )
    time.sleep(5)
    stop.set()
    for client in clients:
        client.join()

    before = [job_id for job_id, at in accepted if at < killed_at - SAFE_BEFORE_KILL]
    assert len(before) > 50  # the load was real
    keys = Keys()
    client = make_run.redis_client()

    def statuses() -> list[str]:
        pipe = client.pipeline(transaction=False)
        for job_id in before:
            pipe.hget(keys.job(job_id), "status")
        return [(s or b"missing").decode() for s in pipe.execute()]

    wait_until(lambda: set(statuses()) == {"succeeded"}, FINISH_TIMEOUT, "the jobs accepted before")
    # the platform answers again, and every process is running (restarted if it crashed)
    after = make_run.http.post(
        make_run.web + "/api/v1/predictions",
        params={"wait": 10},
        json={"instances": passengers(1)},
        timeout=20,
    )
    assert after.json()["status"] == "succeeded"
    wait_until(
        lambda: set(make_run.statuses().values()) == {"RUNNING"}, 60, "every process running"
    )
    assert make_run.statuses().keys() == PROCESSES
