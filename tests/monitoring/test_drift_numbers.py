"""The numbers-only drift check computes what Evidently computes, on the same frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.monitoring.drift import ColumnTypes, compute_drift, drift_report, summary_from_snapshot
from tests.monitoring.frames import drawn, holdout, shifted


def _evidently(
    current: pd.DataFrame, reference: pd.DataFrame, types: ColumnTypes, *, preset: bool = True
):
    snapshot = drift_report(current, reference, types, preset=preset)
    return summary_from_snapshot(
        snapshot.dict(),
        order=types.all,
        current_rows=len(current),
        reference_rows=len(reference),
    )


def _assert_same(fast, evidently) -> None:
    assert fast.dataset_drift == evidently.dataset_drift
    assert fast.share_of_drifted_features == evidently.share_of_drifted_features
    assert list(fast.features) == list(evidently.features)
    for name, f in fast.features.items():
        e = evidently.features[name]
        assert (f.method, f.threshold, f.drifted) == (e.method, e.threshold, e.drifted), name
        assert f.score == pytest.approx(e.score, rel=1e-9, abs=1e-15), name


@pytest.mark.parametrize(
    ("make", "n", "reference_rows"),
    [
        (drawn, 2_000, None),  # > 1,000 reference rows: Wasserstein / Jensen-Shannon (K-S for age)
        (shifted, 2_000, None),
        (shifted, 300, 600),  # ≤ 1,000 reference rows: K-S / chi-square / Z-test
        (drawn, 300, 600),
    ],
)
def test_compute_drift_equals_evidently_on_the_same_frames(
    reference: pd.DataFrame, feature_schema, make, n: int, reference_rows: int | None
) -> None:
    types = ColumnTypes.from_schema(feature_schema)
    ref = reference if reference_rows is None else reference.iloc[:reference_rows]
    current = make(reference, types.all, n)
    _assert_same(compute_drift(current, ref, types), _evidently(current, ref, types))


def test_the_per_column_report_summarises_as_the_preset_does(
    reference: pd.DataFrame, feature_schema
) -> None:
    types = ColumnTypes.from_schema(feature_schema)
    current = shifted(reference, types.all, 1_500)
    _assert_same(
        _evidently(current, reference, types, preset=False),
        _evidently(current, reference, types, preset=True),
    )


def test_a_constant_column_and_a_new_category_give_evidentlys_numbers(
    reference: pd.DataFrame, feature_schema
) -> None:
    types = ColumnTypes.from_schema(feature_schema)
    current = drawn(reference, types.all, 400)
    current["sex"] = "male"
    current["pclass"] = 3.0
    ref = reference.iloc[:800]
    _assert_same(compute_drift(current, ref, types), _evidently(current, ref, types))


def test_shifted_age_and_fare_drift_and_nothing_else(reference: pd.DataFrame, feature_schema):
    types = ColumnTypes.from_schema(feature_schema)
    summary = compute_drift(shifted(reference, types.all, 2_000), reference, types)
    assert summary.drifted_features == ["age", "fare"]
    assert summary.dataset_drift is False  # 2 of 7 < half


def test_the_recalibrated_estimate_is_within_005_of_the_holdout_accuracy(
    models_dir, reference: pd.DataFrame
) -> None:
    from ml.monitoring.estimation import AccuracyEstimator
    from ml.registry import Registry

    model = Registry(models_dir).load("test-v1")
    rows, labels = holdout()
    proba = model.predict_proba_frame(rows)
    predicted = [model.class_labels[i] for i in proba.argmax(axis=1)]
    accuracy = float(np.mean([p == a for p, a in zip(predicted, labels, strict=True)]))
    ref_proba = reference[[f"proba_{c}" for c in model.class_labels]].to_numpy()
    estimator = AccuracyEstimator.fit(
        model.class_labels, ref_proba, reference["survived"].astype(str).tolist()
    )
    assert abs(estimator.estimate(proba) - accuracy) <= 0.05
