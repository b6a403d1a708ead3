"""Installed model versions and stacks serving them: real gunicorn (two workers; the traffic
stack's answers name their pid), Celery workers and Redis."""

from __future__ import annotations

import http.client
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devsupport import LOOPBACK, STAND_IN_AUTH_APP, RedisServer, Stack, free_port, make_stack
from devsupport.stand_in_auth import WORKER_HEADER
from tests.conftest import new_db
from tests.payloads import PASSENGER

V1, V2 = "test-v1", "test-v2"
MAX_CONNECTIONS = 1_000  # connections opened, at most, to find both gunicorn workers


@pytest.fixture(scope="session")
def two_versions(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's test-v1 (the folder's default) and a test-v2 trained with another seed."""
    from ml.data.spec import TITANIC
    from ml.train import train

    root = tmp_path_factory.mktemp("two-versions")
    shutil.copytree(models_dir / V1, root / V1)
    train(TITANIC, None, root, seed=7, version=V2, set_default=False)
    (root / "DEFAULT").write_text(f"{V1}\n")
    return root


@pytest.fixture(scope="module")
def traffic_stack(
    redis_server: RedisServer, two_versions: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The real app (real API keys), served with the stand-in's worker-pid header."""
    s = make_stack(redis_server, new_db(), two_versions, tmp_path_factory.mktemp("traffic"))
    s.start_worker()
    s.start_web(STAND_IN_AUTH_APP)
    yield s
    s.stop_all()


class Conn:
    """A keep-alive connection to the web with the admin key."""

    def __init__(self, stack: Stack) -> None:
        port = int(stack.env["LIFEBOAT_WEB_PORT"])
        self.conn = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
        self.headers = {
            "Authorization": f"Bearer {stack.admin_key}",
            "Content-Type": "application/json",
        }
        self.worker = ""

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body)
        self.conn.request(method, path, body=data, headers=self.headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        self.worker = resp.getheader(WORKER_HEADER) or ""
        return resp.status, json.loads(raw) if raw else None

    def predict(self, instance_id: str | None = None, version: str | None = None) -> Any:
        """A one-instance prediction, not waited for: its 202 answer (the job as written)."""
        instance = dict(PASSENGER) if instance_id is None else {**PASSENGER, "id": instance_id}
        body: dict[str, Any] = {"instances": [instance]}
        if version is not None:
            body["model_version"] = version
        status, job = self.call("POST", "/api/v1/predictions", body)
        assert status == 202, job
        return job

    def close(self) -> None:
        self.conn.close()


def one_connection_per_worker(stack: Stack) -> list[Conn]:
    """Two keep-alive connections, each held by a different gunicorn worker."""
    by_worker: dict[str, Conn] = {}
    for _ in range(MAX_CONNECTIONS):
        conn = Conn(stack)
        conn.call("GET", "/health")
        if conn.worker in by_worker:
            conn.close()
            continue
        by_worker[conn.worker] = conn
        if len(by_worker) == 2:
            return list(by_worker.values())
    raise AssertionError(f"{MAX_CONNECTIONS} connections all reached one gunicorn worker")


BROKEN = "test-broken"  # installed, but its lean artifact fails its sha256 check on load
REPORTS_PORT_ENV = "LIFEBOAT_REPORTS_WORKER_METRICS_PORT"


@pytest.fixture(scope="session")
def three_versions(two_versions: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """test-v1, test-v2 and test-broken (test-v2 with one byte of its lean scorer changed)."""
    root = tmp_path_factory.mktemp("three-versions")
    for version in (V1, V2):
        shutil.copytree(two_versions / version, root / version)
    shutil.copytree(two_versions / V2, root / BROKEN)
    lean = root / BROKEN / "lean.npz"
    data = bytearray(lean.read_bytes())
    data[len(data) // 2] ^= 0xFF
    lean.write_bytes(bytes(data))
    (root / "DEFAULT").write_text(f"{V1}\n")
    return root


def start_reports(stack: Stack) -> None:
    """The reports worker as deployed: reports, webhooks and shadow scoring, one process."""
    stack.start_worker(
        concurrency=1,
        queues="reports,webhooks,shadow",
        name="reports",
        extra_env={"LIFEBOAT_WORKER_METRICS_PORT": stack.env[REPORTS_PORT_ENV]},
    )


@pytest.fixture(scope="module")
def shadow_stack(
    redis_server: RedisServer, three_versions: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Web, the scoring worker and the reports worker (with beat checking the guard every
    second), as production runs them."""
    s = make_stack(
        redis_server,
        new_db(),
        three_versions,
        tmp_path_factory.mktemp("shadow"),
        **{REPORTS_PORT_ENV: str(free_port()), "LIFEBOAT_GUARD_CHECK_SECONDS": "1"},
    )
    s.start_worker(queues="predictions,batches")
    start_reports(s)
    s.start_web()
    yield s
    s.stop_all()


def worker_samples(stack: Stack, name: str = "worker") -> dict[tuple[str, tuple], float]:
    """Every sample on a worker's /metrics: (name, sorted labels) → value."""
    port = stack.env[REPORTS_PORT_ENV if name == "reports" else "LIFEBOAT_WORKER_METRICS_PORT"]
    text = requests.get(f"http://{LOOPBACK}:{port}/metrics", timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
