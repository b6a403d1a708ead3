"""The whole platform natively, with a real Prometheus scraping it."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import yaml

from devsupport import (
    EXPORTER_PYTHON,
    ROOT,
    RedisServer,
    Stack,
    celery_command,
    exporter_command,
    free_port,
    make_stack,
    start,
    start_redis,
    wait_until,
)
from devsupport.stack import METRICS_KEY_ENV

SCRAPE_INTERVAL = "1s"
# celery-exporter takes about two seconds to answer a scrape (it asks the workers)
SLOW = {"celery-exporter": {"scrape_interval": "5s", "scrape_timeout": "5s"}}


@dataclass
class Observed:
    stack: Stack
    prometheus_url: str
    flower_url: str
    flower_auth: tuple[str, str]
    exporter_url: str
    facts: dict = field(default_factory=dict)  # what the test drove, to compare with

    def query(self, expr: str) -> list[dict]:
        r = requests.get(f"{self.prometheus_url}/api/v1/query", params={"query": expr}, timeout=10)
        body = r.json()
        if body.get("status") != "success":
            raise AssertionError(f"{expr!r}: {body.get('error')}")
        return body["data"]["result"]

    def value(self, expr: str) -> float:
        result = self.query(expr)
        assert len(result) == 1, (expr, result)
        return float(result[0]["value"][1])


def _need(path: str | Path | None, what: str) -> str:
    if path and Path(path).exists():
        return str(path)
    if os.environ.get("CI"):
        raise RuntimeError(f"{what} is missing (CI installs it)")
    pytest.skip(f"{what} is not installed")


def prometheus_config(targets: dict[str, str], web_credentials: Path) -> dict:
    """Scrape ``targets``; the web with its metrics key, from a credentials file as in
    ``prometheus/prometheus.yml``."""
    auth = {"lifeboat-web": {"authorization": {"credentials_file": str(web_credentials)}}}
    return {
        "global": {"scrape_interval": SCRAPE_INTERVAL, "evaluation_interval": SCRAPE_INTERVAL},
        "rule_files": [str(ROOT / "prometheus" / "alerts.yml")],
        "scrape_configs": [
            {
                "job_name": job,
                "static_configs": [{"targets": [target]}],
                **SLOW.get(job, {}),
                **auth.get(job, {}),
            }
            for job, target in targets.items()
        ],
    }


@pytest.fixture(scope="module")
def observed(
    own_redis_module: RedisServer,
    models_dir_with_broken: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Observed]:
    prometheus = _need(shutil.which("prometheus"), "prometheus (Debian package)")
    _need(EXPORTER_PYTHON, "celery-exporter's venv (make install)")
    tmp = tmp_path_factory.mktemp("e2e")
    stack = make_stack(own_redis_module, 0, models_dir_with_broken, tmp)
    auth = ("ops", "flower-secret")
    stack.env["FLOWER_BASIC_AUTH"] = ":".join(auth)
    # a drift check every few seconds over a small window, accuracy from few labels
    stack.env.update(
        {
            "LIFEBOAT_DRIFT_CHECK_INTERVAL_SECONDS": "3",
            "LIFEBOAT_DRIFT_CHECK_MIN_ROWS": "50",
            "LIFEBOAT_ACCURACY_MIN_LABELS": "10",
            "LIFEBOAT_BATCH_SWEEP_SECONDS": "3",  # every beat task runs during the test
            "LIFEBOAT_GUARD_CHECK_SECONDS": "3",
        }
    )
    flower_port, exporter_port, prom_port = free_port(), free_port(), free_port()
    try:
        stack.start_worker()
        worker_ready = time.time()  # the worker has started its beat tasks' clocks
        stack.start_web()
        stack.start_beat()
        stack.procs["flower"] = start(
            "flower",
            celery_command("flower", f"--port={flower_port}", "--address=127.0.0.1"),
            stack.env,
            stack.logdir,
        )
        stack.procs["exporter"] = start(
            "exporter",
            exporter_command(exporter_port, "--queues=predictions,batches,reports"),
            {**stack.env, "CE_BROKER_URL": stack.env["LIFEBOAT_REDIS_URL"]},
            stack.logdir,
        )
        targets = {
            "lifeboat-web": f"127.0.0.1:{stack.env['LIFEBOAT_WEB_PORT']}",
            "lifeboat-worker": f"127.0.0.1:{stack.env['LIFEBOAT_WORKER_METRICS_PORT']}",
            "celery-exporter": f"127.0.0.1:{exporter_port}",
            "flower": f"127.0.0.1:{flower_port}",
            "prometheus": f"127.0.0.1:{prom_port}",
        }
        credentials = tmp / "metrics-key"  # the key the web made at start (scope metrics)
        credentials.write_text(stack.env[METRICS_KEY_ENV])
        credentials.chmod(0o600)
        config = tmp / "prometheus.yml"
        config.write_text(yaml.safe_dump(prometheus_config(targets, credentials)))
        stack.procs["prometheus"] = start(
            "prometheus",
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            stack.env,
            stack.logdir,
        )
        obs = Observed(
            stack,
            f"http://127.0.0.1:{prom_port}",
            f"http://127.0.0.1:{flower_port}",
            auth,
            f"http://127.0.0.1:{exporter_port}",
            facts={"worker_ready": worker_ready},
        )
        wait_until(
            lambda: requests.get(f"{obs.prometheus_url}/-/ready", timeout=1).ok,
            30,
            "prometheus",
            stack.procs["prometheus"],
        )
        wait_until(
            lambda: requests.get(f"{obs.exporter_url}/metrics", timeout=10).ok,
            60,
            "celery-exporter",
            stack.procs["exporter"],
        )
        wait_until(
            lambda: requests.get(f"{obs.flower_url}/healthcheck", timeout=1).ok,
            30,
            "flower",
            stack.procs["flower"],
        )
        yield obs
    finally:
        stack.stop_all()


@pytest.fixture(scope="module")
def own_redis_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("e2e-redis"))
    yield server
    server.proc.stop()


@pytest.fixture(scope="module")
def models_dir_with_broken(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's model plus a copy named ``broken`` whose artifact was tampered with."""
    root = tmp_path_factory.mktemp("e2e-models")
    shutil.copytree(models_dir / "test-v1", root / "test-v1")
    shutil.copytree(models_dir / "test-v1", root / "broken")
    artifact = root / "broken" / "model.skops"
    data = bytearray(artifact.read_bytes())
    data[len(data) // 2] ^= 0xFF
    artifact.write_bytes(bytes(data))
    (root / "DEFAULT").write_text("test-v1\n")
    return root
