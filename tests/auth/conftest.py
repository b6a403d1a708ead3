"""A stack whose worker scores batches and builds reports but never runs prediction jobs:
a prediction job stays queued, so it can always be cancelled; batches and reports finish."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devsupport import KeyedHTTP, RedisServer, Stack, make_stack
from tests.conftest import new_db
from tests.payloads import PASSENGER, passengers

FEATURES = ("pclass", "sex", "age", "sibsp", "parch", "fare", "embarked")


@pytest.fixture(scope="session")
def held_stack(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    s = make_stack(redis_server, new_db(), models_dir, tmp_path_factory.mktemp("held"))
    s.start_worker(queues="batches,reports")
    s.start_web()
    yield s
    s.stop_all()


def csv_of(n: int, *, target: bool = False) -> bytes:
    buf = io.StringIO()
    columns = [*FEATURES, "passenger"] + (["survived"] if target else [])
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for i, p in enumerate(passengers(n)):
        row = {k: p[k] for k in FEATURES}
        row["passenger"] = f"p{i}"
        if target:
            row["survived"] = ("died", "survived")[i % 2]
        writer.writerow(row)
    return buf.getvalue().encode()


def predict(stack: Stack, http: KeyedHTTP, **kw: object) -> dict:
    r = http.post(
        stack.url("/api/v1/predictions"), json={"instances": [PASSENGER]}, timeout=10, **kw
    )
    assert r.status_code == 202, r.text
    return r.json()


def batch(stack: Stack, http: KeyedHTTP, rows: int = 5) -> dict:
    r = http.post(
        stack.url("/api/v1/batches"),
        data=csv_of(rows),
        headers={"Content-Type": "text/csv"},
        params={"id_column": "passenger"},
        timeout=30,
    )
    assert r.status_code == 202, r.text
    return r.json()


def drift_report(stack: Stack, http: KeyedHTTP) -> dict:
    r = http.post(
        stack.url("/api/v1/reports"),
        data=csv_of(120),
        headers={"Content-Type": "text/csv"},
        params={"type": "drift"},
        timeout=30,
    )
    assert r.status_code == 202, r.text
    return r.json()


def finished(stack: Stack, http: KeyedHTTP, job_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = http.get(stack.url(f"/api/v1/jobs/{job_id}"), params={"wait": 10}, timeout=20).json()
        if job["status"] in ("succeeded", "failed", "cancelled") or time.monotonic() > deadline:
            return job
