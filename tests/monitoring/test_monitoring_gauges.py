"""Scheduled drift checks and feedback, seen on the worker's /metrics (real beat, worker, Redis)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from core.keys import Keys
from devsupport import wait_until
from ml.monitoring.drift import ColumnTypes, compute_drift
from tests.monitoring.conftest import (
    VERSION,
    instances,
    predict,
    sample,
    wait_for_sample,
)
from tests.monitoring.frames import drawn, holdout, shifted

pytestmark = pytest.mark.integration


def test_the_scheduled_check_puts_drift_on_exactly_the_shifted_features_into_the_gauges(
    monitored_stack, reference: pd.DataFrame, feature_schema
) -> None:
    stack = monitored_stack(LIFEBOAT_DRIFT_CHECK_WINDOW="1000", LIFEBOAT_DRIFT_CHECK_MIN_ROWS="100")
    types = ColumnTypes.from_schema(feature_schema)
    frame = shifted(reference, types.all, 1000)
    predict(stack, instances(frame, feature_schema))  # one job: logged at once

    got = wait_for_sample(stack, "ml_data_drift_score", model_version=VERSION)
    expected = compute_drift(frame, reference, types)
    assert expected.drifted_features == ["age", "fare"]
    assert sample(got, "ml_data_drift_score", model_version=VERSION) == pytest.approx(2 / 7)
    for name, feature in expected.features.items():
        score = sample(got, "ml_feature_drift_score", model_version=VERSION, feature_name=name)
        assert score == pytest.approx(feature.score, rel=1e-9, abs=1e-15), name
        detected = sample(got, "ml_data_drift_detected_total", feature_name=name)
        assert detected == (1.0 if name in ("age", "fare") else None), name
    shown = stack.http.get(stack.url(f"/api/v1/models/{VERSION}/monitoring"), timeout=10).json()
    assert shown["drift_check"]["rows"] == 1000
    assert shown["drift_check"]["summary"]["share_of_drifted_features"] == pytest.approx(2 / 7)
    drifted = shown["drift_check"]["summary"]["features"]
    assert sorted(f for f, d in drifted.items() if d["drifted"]) == ["age", "fare"]
    checks = [p for p in shown["history"] if p["kind"] == "drift_check"]  # the console's charts
    assert checks[-1]["at"] == shown["drift_check"]["checked_at"]
    assert checks[-1]["estimated_accuracy"] == shown["drift_check"]["estimated_accuracy"]
    assert checks[0]["new_predictions"] == 1000  # the first check: every row is new


def test_feedback_makes_the_accuracy_gauge_the_hand_computed_accuracy_and_the_estimate_close(
    monitored_stack,
) -> None:
    stack = monitored_stack(LIFEBOAT_DRIFT_CHECK_MIN_ROWS="100")
    rows, labels = holdout()
    from ml.registry import Registry

    schema = Registry(stack.env["LIFEBOAT_MODELS_DIR"]).schema(VERSION)
    predictions = predict(stack, instances(rows, schema))
    accuracy = float(
        np.mean([p["prediction"] == a for p, a in zip(predictions, labels, strict=True)])
    )
    items = [
        {"prediction_id": p["prediction_id"], "actual": a}
        for p, a in zip(predictions, labels, strict=True)
    ]

    r = stack.http.post(stack.url("/api/v1/feedback"), json={"items": items}, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json() | {"unknown_ids": None} == {
        "received": len(items),
        "accepted": len(items),
        "duplicate": 0,
        "unknown": 0,
        "unknown_ids": None,
        "model_versions": [VERSION],
    }
    again = stack.http.post(
        stack.url("/api/v1/feedback"),
        json={"items": [*items[:10], {"prediction_id": "never-made-0", "actual": "died"}]},
        timeout=30,
    ).json()
    assert (again["accepted"], again["duplicate"], again["unknown"]) == (0, 10, 1)
    assert again["unknown_ids"] == ["never-made-0"]

    def accuracy_gauge_counts_every_label() -> bool:
        got = wait_for_sample(stack, "ml_model_labelled_predictions", model_version=VERSION)
        return sample(got, "ml_model_labelled_predictions", model_version=VERSION) == len(items)

    wait_until(accuracy_gauge_counts_every_label, 60, "the accuracy gauge", stack.procs["worker"])
    got = wait_for_sample(stack, "ml_model_estimated_accuracy", model_version=VERSION)
    assert sample(got, "ml_model_accuracy", model_version=VERSION) == pytest.approx(
        accuracy, abs=1e-12
    )
    estimated = sample(got, "ml_model_estimated_accuracy", model_version=VERSION)
    assert abs(estimated - accuracy) <= 0.05
    shown = stack.http.get(stack.url(f"/api/v1/models/{VERSION}/monitoring"), timeout=10).json()
    assert shown["measured_accuracy"]["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert shown["measured_accuracy"]["labelled"] == len(items)
    measured = [p for p in shown["history"] if p["kind"] == "measured_accuracy"]
    assert measured[-1]["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert measured[-1]["labelled"] == len(items)

    perf = stack.http.post(
        stack.url("/api/v1/reports"),
        json={"type": "performance", "window": {"last": len(items)}},
        params={"wait": 30},
        timeout=60,
    ).json()
    assert perf["status"] == "succeeded", perf
    summary = perf["result"]["summary"]
    assert summary["labelled"] == len(items)
    assert summary["metrics"]["accuracy"] == pytest.approx(accuracy, abs=1e-12)
    assert summary["estimate"]["estimated_accuracy"] == pytest.approx(estimated, abs=1e-12)
    assert summary["estimate"]["calibration"]["expected_calibration_error"] is not None


def test_feedback_with_an_invalid_label_is_422_naming_it(idle_stack) -> None:
    r = idle_stack.http.post(
        idle_stack.url("/api/v1/feedback"),
        json={
            "items": [
                {"prediction_id": "a-0", "actual": "survived"},
                {"prediction_id": "a-1", "actual": "maybe"},
            ]
        },
        timeout=10,
    )
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [["items", 1, "actual"]]


def test_a_later_check_decodes_only_the_new_predictions_and_checks_the_whole_window(
    monitored_stack, reference: pd.DataFrame, feature_schema
) -> None:
    stack = monitored_stack(
        LIFEBOAT_DRIFT_CHECK_WINDOW="1500",
        LIFEBOAT_DRIFT_CHECK_MIN_ROWS="100",
        LIFEBOAT_MONITORING_WINDOW_ROWS="1000",
    )
    types = ColumnTypes.from_schema(feature_schema)
    key = Keys().drift_check(VERSION)
    records: list[dict] = []

    def checked(rows: int) -> bool:
        raw = stack.redis.get(key)
        records[:] = [json.loads(raw)] if raw else []
        return bool(records) and records[0]["rows"] == rows

    first = drawn(reference, types.all, 1000, seed=1)
    predict(stack, instances(first, feature_schema))
    wait_until(lambda: checked(1000), 60, "a check of the first 1000", stack.procs["beat"])
    assert records[0]["window_rebuilt"] is True

    second = shifted(reference, types.all, 1000)
    predict(stack, instances(second, feature_schema))
    wait_until(lambda: checked(1500), 60, "a check of the last 1500", stack.procs["beat"])
    record = records[0]
    assert record["read_entries"] == 1000  # the new predictions only
    assert record["window_rebuilt"] is False

    window = pd.concat([first.tail(500), second]).reset_index(drop=True)
    expected = compute_drift(window, reference, types).to_dict()
    scores = {f: d.pop("score") for f, d in record["summary"]["features"].items()}
    expected_scores = {f: d.pop("score") for f, d in expected["features"].items()}
    assert record["summary"] == expected
    assert scores == pytest.approx(expected_scores, rel=1e-9, abs=1e-15)


def test_monitoring_of_a_version_never_measured_is_null_and_of_an_unknown_one_404(
    idle_stack,
) -> None:
    shown = idle_stack.http.get(idle_stack.url(f"/api/v1/models/{VERSION}/monitoring"), timeout=10)
    assert shown.status_code == 200
    assert shown.json() == {
        "version": VERSION,
        "drift_check": None,
        "measured_accuracy": None,
        "history": [],
    }
    unknown = idle_stack.http.get(idle_stack.url("/api/v1/models/nope-v9/monitoring"), timeout=10)
    assert unknown.status_code == 404
    assert unknown.headers["Content-Type"] == "application/problem+json"
