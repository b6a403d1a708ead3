"""Micro-batching with real workers: jobs scored together, each with its own fate."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

import numpy as np
import psutil
import pytest
import requests
from celery import Celery

from core.jobs import JobStore, JobType
from core.keys import Keys
from core.queue import PREDICT_TASK, make_celery
from core.settings import Settings
from devsupport import Stack, wait_until
from tests.logged import logged_records
from tests.payloads import passengers

pytestmark = pytest.mark.integration


def queue_jobs(stack: Stack, bodies: list[list[dict[str, Any]]]) -> list[str]:
    """Queue jobs straight through the job store and Celery, as the web does (no validation)."""
    settings = Settings(redis_url=stack.env["LIFEBOAT_REDIS_URL"])
    store = JobStore(stack.redis)
    app: Celery = make_celery(settings)
    ids = []
    for instances in bodies:
        job_id, _ = store.create(
            JobType.PREDICTION,
            params={"instances": instances},
            model_version="test-v1",
            total=len(instances),
        )
        app.send_task(PREDICT_TASK, args=[job_id])
        ids.append(job_id)
    return ids


def job(stack: Stack, job_id: str, wait: float = 0) -> dict:
    return stack.http.get(
        stack.url(f"/api/v1/jobs/{job_id}"), params={"wait": wait}, timeout=wait + 10
    ).json()


def clean(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "id"} for r in rows]


def log_counts(stack: Stack) -> dict[str, int]:
    counts: dict[str, int] = {}
    for record in logged_records(stack.redis):
        counts[record.job_id] = counts.get(record.job_id, 0) + len(record)
    return counts


def test_a_bad_job_fails_alone_inside_a_micro_batch(fresh_stack: Stack) -> None:
    good = [passengers(2) for _ in range(5)]
    bad = [{**passengers(1)[0], "pclass": "first"}]  # slipped past validation somehow
    ids = queue_jobs(fresh_stack, [*good[:2], bad, *good[2:]])
    fresh_stack.start_worker(concurrency=1)
    fresh_stack.start_web()
    jobs = [job(fresh_stack, i, wait=20) for i in ids]
    owners = {fresh_stack.redis.hget(Keys().job(i), "owner") for i in ids}
    assert len(owners) == 1  # one task claimed all six: they were one micro-batch
    assert [j["status"] for j in jobs] == ["succeeded"] * 2 + ["failed"] + ["succeeded"] * 3
    assert jobs[2]["error"]["type"]
    assert all(len(j["result"]["predictions"]) == 2 for j in jobs if j["status"] == "succeeded")


def test_a_worker_killed_mid_batch_loses_no_job_and_finishes_none_twice(fresh_stack: Stack) -> None:
    ids = queue_jobs(fresh_stack, [passengers(3) for _ in range(8)])
    worker = fresh_stack.start_worker(
        concurrency=1, extra_env={"LIFEBOAT_FAULT_DELAY_SECONDS": "3"}
    )
    fresh_stack.start_web()
    wait_until(
        lambda: all(job(fresh_stack, i)["status"] == "running" for i in ids),
        20,
        "the whole batch claimed",
    )
    for child in psutil.Process(worker.popen.pid).children():
        os.kill(child.pid, signal.SIGKILL)
    final = [job(fresh_stack, i, wait=30) for i in ids]
    assert [j["status"] for j in final] == ["succeeded"] * 8
    assert log_counts(fresh_stack) == dict.fromkeys(ids, 3)


def test_each_job_gets_its_own_result_under_concurrent_load(stack: Stack) -> None:
    from ml.registry import Registry

    model = Registry(stack.env["LIFEBOAT_MODELS_DIR"]).load("test-v1")
    results: dict[int, dict] = {}
    bodies = {n: passengers(1 + n % 4) for n in range(64)}
    for n, rows in bodies.items():  # every job distinct: its own ids and ages
        for r in rows:
            r.update(id=f"job{n}-{r['id']}", age=float(n))

    def client(numbers: list[int]) -> None:
        with requests.Session() as session:
            session.headers.update(stack.http.headers)
            for n in numbers:
                r = session.post(
                    stack.url("/api/v1/predictions"),
                    params={"wait": 20},
                    json={"instances": bodies[n]},
                    timeout=30,
                )
                results[n] = r.json()

    threads = [threading.Thread(target=client, args=(list(range(k, 64, 16)),)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n, rows in bodies.items():
        got = results[n]
        assert got["status"] == "succeeded"
        preds = got["result"]["predictions"]
        assert [p["id"] for p in preds] == [r["id"] for r in rows]
        expected = model.predict_proba_rows(clean(rows))
        probs = [[p["probabilities"][c] for c in model.class_labels] for p in preds]
        np.testing.assert_allclose(probs, expected, rtol=0, atol=1e-12)


def test_each_pool_child_reports_its_thread_limits_at_start(stack: Stack) -> None:
    log = stack.procs["worker"].output()
    lines = [line for line in log.splitlines() if "thread limits:" in line]
    assert len(lines) >= 2
    # lean pool children load numpy's BLAS, not scikit-learn's OpenMP runtime (should a
    # child load it, it reads OMP_NUM_THREADS, set by workers.celery_app)
    assert all("blas:openblas=1" in line and "openmp" not in line for line in lines)
    port = stack.env["LIFEBOAT_WORKER_METRICS_PORT"]
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert "lifeboat_worker_thread_limit 1.0" in text
