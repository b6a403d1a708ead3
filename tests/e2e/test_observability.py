"""Everything an operator sees in Prometheus is true, on a live native stack.

Drives prediction jobs (some failing), then asks a real Prometheus, through its
HTTP API, whether every target is up, whether the counters equal what was
driven across all processes, and whether every dashboard and alert expression
parses and returns data.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from core.queue import (
    CHECK_DRIFT_TASK,
    CHECK_GUARD_TASK,
    REQUEUE_STALE_TASK,
    SWEEP_BATCH_FILES_TASK,
)
from devsupport import ROOT, wait_until
from tests.batches.helpers import finished, rows, to_csv
from tests.deploy.promql import alert_exprs, dashboard_queries
from tests.e2e.conftest import Observed
from tests.payloads import passengers

pytestmark = pytest.mark.e2e
DASHBOARDS = ROOT / "grafana" / "dashboards"
ALERTS = ROOT / "prometheus" / "alerts.yml"
JOBS = 12
ROWS_PER_JOB = 5
FAILING_JOBS = 3
BATCH_ROWS = 40
BEAT_TASKS = (REQUEUE_STALE_TASK, SWEEP_BATCH_FILES_TASK, CHECK_DRIFT_TASK, CHECK_GUARD_TASK)
LAST_RUN = "lifeboat_beat_task_last_run_timestamp_seconds"


@pytest.fixture(scope="module")
def driven(observed: Observed) -> Observed:
    """Prediction jobs that succeed and jobs that fail (a tampered model version)."""
    stack = observed.stack
    # a traffic policy change, for the Deployments dashboard's changes panel and annotations
    policy = stack.http.request(
        "PUT", stack.url("/api/v1/deployment"), json={"default": "test-v1"}, timeout=10
    )
    assert policy.status_code == 200, policy.text
    succeeded = []
    for _ in range(JOBS):
        r = stack.http.post(
            stack.url("/api/v1/predictions"),
            params={"wait": 10},
            json={"instances": passengers(ROWS_PER_JOB)},
            timeout=20,
        )
        assert r.json()["status"] == "succeeded"
        succeeded.append(r.json())
    first = succeeded[0]
    for _ in range(FAILING_JOBS):
        r = stack.http.post(
            stack.url("/api/v1/predictions"),
            params={"wait": 10},
            json={"instances": passengers(1), "model_version": "broken"},
            timeout=20,
        )
        assert r.json()["status"] == "failed"
    stack.http.get(stack.url("/api/v1/jobs/unknown"), timeout=5)  # a 404 for the API panels
    batch = stack.http.post(
        stack.url("/api/v1/batches"),
        data=to_csv(rows(BATCH_ROWS)),
        headers={"Content-Type": "text/csv"},
        timeout=30,
    ).json()
    assert finished(stack, batch["id"])["status"] == "succeeded"
    labelled = [p["prediction_id"] for p in first["result"]["predictions"]]
    hits = sum(p["prediction"] == "survived" for p in first["result"]["predictions"])
    observed.facts["accuracy"] = hits / len(labelled)
    feedback = stack.http.post(
        stack.url("/api/v1/feedback"),
        timeout=10,
        json={"items": [{"prediction_id": pid, "actual": "survived"} for pid in labelled]},
    )
    assert feedback.json()["accepted"] == len(labelled)
    # wait until Prometheus has scraped the final counts
    wait_until(
        lambda: (
            observed.query("sum(ml_predictions_total)")
            and observed.value("sum(ml_predictions_total)") == JOBS * ROWS_PER_JOB
        ),
        30,
        "final counts scraped",
    )
    time.sleep(12)  # more scrapes: rate() windows need two samples, the exporter scrapes at 5 s
    return observed


def test_every_target_is_up(driven: Observed) -> None:
    r = requests.get(f"{driven.prometheus_url}/api/v1/targets", timeout=5).json()
    health = {t["labels"]["job"]: t["health"] for t in r["data"]["activeTargets"]}
    assert health == {
        job: "up"
        for job in ("lifeboat-web", "lifeboat-worker", "celery-exporter", "flower", "prometheus")
    }


def test_prediction_counter_equals_the_rows_scored_across_processes(driven: Observed) -> None:
    assert driven.value("sum(ml_predictions_total)") == JOBS * ROWS_PER_JOB
    pids = driven.query('count by (pid) ({__name__=~"ml_predictions_total"})')
    assert pids  # summed by the worker's main process: no pid label leaks out


def test_job_counters_equal_what_was_driven(driven: Observed) -> None:
    assert driven.value('sum(lifeboat_jobs_submitted_total{type="prediction"})') == (
        JOBS + FAILING_JOBS
    )
    assert (
        driven.value('sum(lifeboat_jobs_finished_total{type="prediction",status="succeeded"})')
        == JOBS
    )
    assert (
        driven.value('sum(lifeboat_jobs_finished_total{type="prediction",status="failed"})')
        == FAILING_JOBS
    )
    assert (
        driven.value('sum(ml_prediction_errors_total{error_type="ArtifactIntegrityError"})')
        == FAILING_JOBS
    )


def test_batch_rows_and_feedback_accuracy_equal_what_was_driven(driven: Observed) -> None:
    assert driven.value('sum(lifeboat_batch_rows_total{outcome="scored"})') == BATCH_ROWS
    # the first job's predictions were all labelled "survived"
    assert driven.value("max(ml_model_accuracy)") == pytest.approx(driven.facts["accuracy"])


def test_celery_exporter_and_flower_saw_the_tasks(driven: Observed) -> None:
    # task-sent comes from the web (pipelined with its message), task-received and
    # task-succeeded from the worker's event thread (workers/events.py)
    for event in ("sent", "received", "succeeded"):
        assert driven.value(f'sum(celery_task_{event}_total{{name="lifeboat.predict"}})') >= (
            JOBS + FAILING_JOBS
        ), event
    assert driven.value("sum(flower_worker_online)") >= 1
    workers = requests.get(f"{driven.flower_url}/api/workers", auth=driven.flower_auth, timeout=10)
    assert workers.status_code == 200
    assert workers.json()
    assert requests.get(f"{driven.flower_url}/api/workers", timeout=10).status_code == 401


def worker_last_runs(observed: Observed) -> dict[str, float]:
    port = observed.stack.env["LIFEBOAT_WORKER_METRICS_PORT"]
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {
        s.labels["task"]: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == LAST_RUN
    }


def test_every_beat_task_shows_its_last_run_on_the_worker_and_in_prometheus(
    driven: Observed,
) -> None:
    ready = driven.facts["worker_ready"]  # until a task runs, its clock shows the worker's start
    runs: dict[str, float] = {}

    def every_task_ran() -> bool:
        runs.update(worker_last_runs(driven))
        return sorted(runs) == sorted(BEAT_TASKS) and min(runs.values()) > ready

    wait_until(every_task_ran, 40, "every beat task ran", driven.stack.procs["beat"])
    query = f"max by (task) ({LAST_RUN})"
    wait_until(
        lambda: (
            all(float(r["value"][1]) > ready for r in driven.query(query))
            and len(driven.query(query)) == len(BEAT_TASKS)
        ),
        10,
        "Prometheus scraped the runs",
    )
    assert driven.query('ALERTS{alertname="BeatTaskLate"}') == []


def test_every_alert_expression_parses(driven: Observed) -> None:
    for name, expr in alert_exprs(ALERTS):
        driven.query(expr)  # raises with Prometheus's parse error
        assert name


def test_every_alert_rule_is_loaded_and_healthy(driven: Observed) -> None:
    r = requests.get(f"{driven.prometheus_url}/api/v1/rules", timeout=5).json()
    rules = [rule for group in r["data"]["groups"] for rule in group["rules"]]
    assert {rule["name"] for rule in rules} == {name for name, _ in alert_exprs(ALERTS)}
    assert [rule["name"] for rule in rules if rule["health"] == "err"] == []


def test_every_dashboard_query_parses_and_returns_data(driven: Observed) -> None:
    empty = []
    for dashboard, panel, expr, needs in dashboard_queries(DASHBOARDS, rate_interval="1m"):
        result = driven.query(expr)
        if needs is None and not result:
            empty.append(f"{dashboard} / {panel}: {expr}")
    assert empty == [], "\n".join(empty)


def test_dashboards_are_found(driven: Observed) -> None:
    assert len(list(Path(DASHBOARDS).glob("*.json"))) == 6
