"""Fixtures of the model-monitoring tests: frames drawn from the reference data, monitored stacks.

A monitored stack is web + worker + Celery beat on a Redis of its own, with a
drift check every second, so the only predictions its checks see are the
test's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from devsupport import Stack, make_stack, start_redis, wait_until

VERSION = "test-v1"  # the model version the session's models_dir holds


@pytest.fixture(scope="session")
def reference(models_dir: Path) -> pd.DataFrame:
    """The reference data of the test model version, typed as the worker types it."""
    from ml.data.loading import coerce_features
    from ml.registry import Registry

    schema = Registry(models_dir).schema(VERSION)
    raw = pd.read_csv(models_dir / VERSION / "reference.csv", keep_default_na=False, na_values=[""])
    numeric = [f.name for f in schema.features if f.kind == "numeric"]
    categorical = [f.name for f in schema.features if f.kind == "categorical"]
    return coerce_features(raw, numeric, categorical)


@pytest.fixture(scope="session")
def feature_schema(models_dir: Path) -> Any:
    from ml.registry import Registry

    return Registry(models_dir).schema(VERSION)


def instances(frame: pd.DataFrame, schema: Any) -> list[dict[str, Any]]:
    """Request instances from a frame of features (NaN → null, integer features as int)."""
    out = []
    for row in frame[schema.feature_names].to_dict("records"):
        inst: dict[str, Any] = {}
        for f in schema.features:
            v = row[f.name]
            if v is None or (isinstance(v, float) and math.isnan(v)):
                inst[f.name] = None
            elif f.integer:
                inst[f.name] = int(v)
            else:
                inst[f.name] = v
        out.append(inst)
    return out


def predict(stack: Stack, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Score rows through the API (jobs of up to 1000 instances); their predictions, in order."""
    predictions: list[dict[str, Any]] = []
    for start_at in range(0, len(rows), 1000):
        r = stack.http.post(
            stack.url("/api/v1/predictions"),
            json={"instances": rows[start_at : start_at + 1000]},
            params={"wait": 30},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "succeeded", r.text
        predictions += r.json()["result"]["predictions"]
    return predictions


def worker_samples(stack: Stack) -> dict[tuple[str, tuple], float]:
    """Every sample on the worker's /metrics: (name, sorted labels) → value."""
    port = stack.env["LIFEBOAT_WORKER_METRICS_PORT"]
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def sample(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def wait_for_sample(stack: Stack, name: str, **labels: str) -> dict:
    """The worker's samples once ``name{labels}`` is among them."""
    got: dict = {}

    def present() -> bool:
        got.update(worker_samples(stack))
        return sample(got, name, **labels) is not None

    wait_until(present, 90, f"{name}{labels} on the worker's /metrics", stack.procs["worker"])
    return got


@pytest.fixture(scope="module")
def monitored_stack(
    models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., Stack]]:
    """Start a monitored stack (web, worker, beat; own Redis) with extra settings."""
    started: list[tuple[Stack, Any]] = []

    def make(**settings: str) -> Stack:
        tmp = tmp_path_factory.mktemp("monitored")
        try:
            server = start_redis(tmp / "redis")
        except (OSError, TimeoutError, RuntimeError):
            pytest.skip("no redis-server could be started")
        env = {"LIFEBOAT_DRIFT_CHECK_INTERVAL_SECONDS": "1", **settings}
        stack = make_stack(server, 0, models_dir, tmp, **env)
        started.append((stack, server))
        stack.start_worker(concurrency=1)
        stack.start_web()
        stack.start_beat()
        return stack

    yield make
    for stack, server in started:
        stack.stop_all()
        server.proc.stop()
