"""A scoring worker's pool processes never load scikit-learn, scipy or pandas."""

from __future__ import annotations

import re
from pathlib import Path

import psutil
import pytest

from core.keys import Keys
from devsupport import Stack, free_port, wait_until
from tests.batches.helpers import finished, rows, to_csv, upload
from tests.payloads import PASSENGER

pytestmark = pytest.mark.integration

# a compiled module of one of these packages (or of the libraries their wheels bundle)
HEAVY_LIBRARY = re.compile(r"/site-packages/(sklearn|scipy|pandas|scikit_learn\.libs|scipy\.libs)/")


def mapped_files(pid: int) -> set[str]:
    """The files (shared libraries) mapped into a process."""
    maps = Path(f"/proc/{pid}/maps").read_text()
    return {line.split(maxsplit=5)[5] for line in maps.splitlines() if len(line.split()) == 6}


def test_a_scoring_pool_child_scores_without_sklearn_scipy_or_pandas(fresh_stack: Stack) -> None:
    worker = fresh_stack.start_worker(concurrency=1, queues="predictions,batches")
    fresh_stack.start_web()
    (child,) = psutil.Process(worker.popen.pid).children()

    resp = fresh_stack.http.post(
        fresh_stack.url("/api/v1/predictions"),
        params={"wait": 20},
        json={"instances": [PASSENGER]},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "succeeded"
    batch = upload(fresh_stack, to_csv(rows(50)), id_column="passenger")
    assert batch.status_code == 202, batch.text
    assert finished(fresh_stack, batch.json()["id"])["status"] == "succeeded"

    assert psutil.Process(worker.popen.pid).children() == [child]  # it did the work
    files = mapped_files(child.pid)
    assert any("/numpy/" in f for f in files)  # the check sees the libraries it did load
    assert any("/pyarrow/" in f for f in files)
    assert sorted(f for f in files if HEAVY_LIBRARY.search(f)) == []
    assert "heavy modules: none" in worker.output()


def test_a_reports_worker_child_loads_evidently_at_start_and_a_scoring_child_does_not(
    fresh_stack: Stack,
) -> None:
    scoring = fresh_stack.start_worker(concurrency=1, queues="predictions,batches")
    (scoring_child,) = psutil.Process(scoring.popen.pid).children()
    fresh_stack.procs["scoring"] = fresh_stack.procs.pop("worker")
    reports = fresh_stack.start_worker(
        concurrency=1,
        queues="reports",
        extra_env={"LIFEBOAT_WORKER_METRICS_PORT": str(free_port())},
    )
    (reports_child,) = psutil.Process(reports.popen.pid).children()

    wait_until(lambda: "ready for reports" in reports.output(), 60, "reports warm-up", reports)
    assert fresh_stack.redis.exists(Keys().monitoring_window)  # caught up at start
    assert any(HEAVY_LIBRARY.search(f) for f in mapped_files(reports_child.pid))
    assert "ready for reports" not in scoring.output()
    assert sorted(f for f in mapped_files(scoring_child.pid) if HEAVY_LIBRARY.search(f)) == []
