"""Drift report jobs against a real web and worker: summary, HTML, validation."""

from __future__ import annotations

import pandas as pd
import pytest

from devsupport import Stack
from ml.monitoring.drift import ColumnTypes, drift_report, summary_from_snapshot
from tests.monitoring.conftest import instances, predict
from tests.monitoring.frames import drawn, shifted

pytestmark = pytest.mark.integration


def report(stack: Stack, body: dict) -> dict:
    r = stack.http.post(stack.url("/api/v1/reports"), json=body, params={"wait": 30}, timeout=60)
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["status"] == "succeeded", job
    return job


def logged_frame(rows: list[dict], types: ColumnTypes) -> pd.DataFrame:
    """The frame the worker builds from the logged instances."""
    from ml.data.loading import coerce_features

    return coerce_features(pd.DataFrame(rows)[types.all], types.numerical, types.categorical)


def test_a_window_drawn_from_the_reference_shows_no_dataset_drift(
    stack: Stack, reference: pd.DataFrame, feature_schema
) -> None:
    types = ColumnTypes.from_schema(feature_schema)
    predict(stack, instances(drawn(reference, types.all, 1000), feature_schema))
    job = report(stack, {"type": "drift", "window": {"last": 1000}})
    summary = job["result"]["summary"]
    assert job["type"] == "drift_report"
    assert summary["current_rows"] == 1000
    assert summary["dataset_drift"] is False
    assert [f for f, d in summary["features"].items() if d["drifted"]] == []


def test_shifted_age_and_fare_drift_exactly_and_the_summary_equals_evidentlys(
    stack: Stack, reference: pd.DataFrame, feature_schema
) -> None:
    types = ColumnTypes.from_schema(feature_schema)
    rows = instances(shifted(reference, types.all, 1000), feature_schema)
    predict(stack, rows)
    job = report(stack, {"type": "drift", "window": {"last": 1000}, "model_version": "test-v1"})
    summary = job["result"]["summary"]
    assert [f for f, d in summary["features"].items() if d["drifted"]] == ["age", "fare"]
    assert summary["share_of_drifted_features"] == pytest.approx(2 / 7)

    current = logged_frame(rows, types)
    snapshot = drift_report(current, reference, types, preset=True)  # DataDriftPreset itself
    expected = summary_from_snapshot(
        snapshot.dict(), order=types.all, current_rows=1000, reference_rows=len(reference)
    ).to_dict()
    # exact, except the last bits of a score: Evidently sums Jensen-Shannon terms in the
    # order of a set of values, which string hashing makes differ between processes
    scores = {f: d.pop("score") for f, d in summary["features"].items()}
    expected_scores = {f: d.pop("score") for f, d in expected["features"].items()}
    assert summary == expected
    assert scores == pytest.approx(expected_scores, rel=1e-9, abs=1e-15)


def test_the_report_html_is_served_once_the_job_has_succeeded(
    stack: Stack, reference: pd.DataFrame, feature_schema
) -> None:
    types = ColumnTypes.from_schema(feature_schema)
    predict(stack, instances(drawn(reference, types.all, 200, seed=3), feature_schema))
    job = report(stack, {"type": "drift", "window": {"last": 200}})
    r = stack.http.get(stack.url(f"/api/v1/jobs/{job['id']}/report"), timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert b"<html" in r.content[:2000].lower()
    assert job["result"]["report"]["url"] == f"/api/v1/jobs/{job['id']}/report"


def test_an_uploaded_csv_is_the_current_data(
    stack: Stack, reference: pd.DataFrame, feature_schema
) -> None:
    types = ColumnTypes.from_schema(feature_schema)
    frame = shifted(reference, types.all, 500, seed=11)
    r = stack.http.post(
        stack.url("/api/v1/reports"),
        files={"file": ("current.csv", frame.to_csv(index=False), "text/csv")},
        data={"type": "drift"},
        params={"wait": 30},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    summary = r.json()["result"]["summary"]
    assert summary["current_rows"] == 500
    assert [f for f, d in summary["features"].items() if d["drifted"]] == ["age", "fare"]


def test_the_report_of_an_unfinished_job_is_409(idle_stack: Stack) -> None:
    r = idle_stack.http.post(
        idle_stack.url("/api/v1/reports"),
        json={"type": "drift", "window": {"last": 500}},
        timeout=10,
    )
    assert r.status_code == 202
    assert r.headers["Location"] == f"/api/v1/jobs/{r.json()['id']}"
    got = idle_stack.http.get(idle_stack.url(f"/api/v1/jobs/{r.json()['id']}/report"), timeout=10)
    assert got.status_code == 409
    assert got.headers["Content-Type"] == "application/problem+json"


def test_the_report_of_an_unknown_job_is_404(idle_stack: Stack) -> None:
    r = idle_stack.http.get(idle_stack.url("/api/v1/jobs/no-such-job/report"), timeout=10)
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("body", "locs"),
    [
        ({"type": "drift", "window": {"last": 5}}, [["window", "last"]]),
        ({"type": "drift", "window": {"last": 10_000_000}}, [["window", "last"]]),
        ({"type": "latency", "window": {"last": 500}}, [["type"]]),
        ({"window": {"last": 500}}, [["type"]]),
        ({"type": "drift"}, [["window"]]),
        ({"type": "drift", "window": {"since": "yesterday"}}, [["window", "since"]]),
        (
            {"type": "drift", "window": {"last": 500}, "model_version": "no-such-version"},
            [["model_version"]],
        ),
        (
            {"type": "nope", "window": {"last": 1}, "model_version": "x", "extra": 1},
            [["extra"], ["type"], ["model_version"], ["window", "last"]],
        ),
    ],
)
def test_an_invalid_report_request_is_422_naming_each_field_and_queues_nothing(
    idle_stack: Stack, body: dict, locs: list[list]
) -> None:
    queued = idle_stack.redis.llen("reports")
    r = idle_stack.http.post(idle_stack.url("/api/v1/reports"), json=body, timeout=10)
    assert r.status_code == 422
    assert r.headers["Content-Type"] == "application/problem+json"
    assert sorted(e["loc"] for e in r.json()["errors"]) == sorted(locs)
    assert idle_stack.redis.llen("reports") == queued


def test_an_uploaded_csv_lacking_feature_columns_is_422(idle_stack: Stack) -> None:
    r = idle_stack.http.post(
        idle_stack.url("/api/v1/reports"),
        data="pclass,sex\n1,male\n",
        headers={"Content-Type": "text/csv"},
        params={"type": "drift"},
        timeout=10,
    )
    assert r.status_code == 422
    missing = sorted(e["loc"][1] for e in r.json()["errors"])
    assert missing == ["age", "embarked", "fare", "parch", "sibsp"]


def _csv(reference: pd.DataFrame, feature_schema, seed: int) -> str:
    types = ColumnTypes.from_schema(feature_schema)
    return shifted(reference, types.all, 200, seed=seed).to_csv(index=False)


@pytest.mark.parametrize("body", ["json", "csv"])
def test_an_idempotency_key_makes_one_report_job_and_queues_one_task(
    idle_stack: Stack, reference: pd.DataFrame, feature_schema, body: str
) -> None:
    key = {"Idempotency-Key": f"report-{body}-{id(reference)}"}
    if body == "json":
        send = {"json": {"type": "drift", "window": {"last": 500}}}
        other = {"json": {"type": "drift", "window": {"last": 600}}}
    else:
        csv = _csv(reference, feature_schema, seed=3)
        send = {"data": csv, "params": {"type": "drift"}}
        other = {"data": _csv(reference, feature_schema, seed=4), "params": {"type": "drift"}}
    queued = idle_stack.redis.llen("reports")
    url = idle_stack.url("/api/v1/reports")
    content = {"headers": {**key, "Content-Type": "text/csv"}} if body == "csv" else {"headers": key}
    first = idle_stack.http.post(url, timeout=10, **send, **content)
    again = idle_stack.http.post(url, timeout=10, **send, **content)
    refused = idle_stack.http.post(url, timeout=10, **other, **content)
    assert (first.status_code, again.status_code) == (202, 202), (first.text, again.text)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert refused.status_code == 409
    assert [e["loc"] for e in refused.json()["errors"]] == [["header", "Idempotency-Key"]]
    assert idle_stack.redis.llen("reports") == queued + 1
