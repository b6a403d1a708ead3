"""Model performance measured on predictions whose ground truth has arrived.

:func:`rolling_metrics` gives the live numbers (accuracy, and ROC AUC once
enough labels of both classes are in); :func:`performance_report` runs
Evidently's ``ClassificationPreset`` (columns declared explicitly) and
:func:`summary_from_snapshot` reads its headline metrics. Pure
pandas/numpy/scikit-learn; Evidently is imported inside the function using it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ml.batch.columns import PROBA_PREFIX

TARGET = "target"  # column names of the frames given to Evidently
PREDICTION = "prediction"
SUMMARY_METRICS = {  # Evidently metric → summary key
    "Accuracy": "accuracy",
    "Precision": "precision",
    "Recall": "recall",
    "F1Score": "f1",
    "RocAuc": "roc_auc",
    "LogLoss": "log_loss",
}


def proba_column(label: str) -> str:
    return f"{PROBA_PREFIX}{label}"


def rolling_metrics(
    actual: Sequence[str],
    predicted: Sequence[str],
    positive_proba: Sequence[float] | None,
    *,
    positive_label: str | None,
    min_labels_for_auc: int,
) -> dict[str, Any]:
    """Accuracy over the labelled predictions; ROC AUC when both classes are among at least
    ``min_labels_for_auc`` labels (binary models only; ``None`` otherwise)."""
    y = np.asarray(actual, dtype=object)
    n = len(y)
    if n == 0:
        return {"labelled": 0, "accuracy": None, "roc_auc": None}
    accuracy = float((y == np.asarray(predicted, dtype=object)).mean())
    roc_auc = None
    if positive_label is not None and positive_proba is not None and n >= min_labels_for_auc:
        truth = (y == positive_label).astype(int)
        if 0 < truth.sum() < n:
            from sklearn.metrics import roc_auc_score

            roc_auc = float(roc_auc_score(truth, np.asarray(positive_proba, dtype=float)))
    return {"labelled": n, "accuracy": accuracy, "roc_auc": roc_auc}


def classification_frame(
    actual: Sequence[str], predicted: Sequence[str], probabilities: np.ndarray, labels: list[str]
) -> pd.DataFrame:
    """Target, prediction and one probability column per class."""
    frame = pd.DataFrame(
        {TARGET: pd.Series(list(actual), dtype=object), PREDICTION: list(predicted)}
    )
    for k, label in enumerate(labels):
        frame[proba_column(label)] = np.asarray(probabilities, dtype=float)[:, k]
    return frame


def performance_report(current: pd.DataFrame, reference: pd.DataFrame, labels: list[str]) -> Any:
    """Evidently's ``ClassificationPreset`` over two frames of :func:`classification_frame`."""
    from evidently import (
        BinaryClassification,
        DataDefinition,
        Dataset,
        MulticlassClassification,
        Report,
    )
    from evidently.presets import ClassificationPreset

    if len(labels) == 2:
        task = BinaryClassification(
            target=TARGET,
            prediction_labels=PREDICTION,
            prediction_probas=proba_column(labels[1]),
            pos_label=labels[1],
        )
    else:
        task = MulticlassClassification(
            target=TARGET,
            prediction_labels=PREDICTION,
            prediction_probas=[proba_column(c) for c in labels],
        )
    probas = [proba_column(c) for c in labels]
    definition = DataDefinition(
        numerical_columns=probas,
        categorical_columns=[TARGET, PREDICTION],
        classification=[task],
    )
    columns = [TARGET, PREDICTION, *probas]
    return Report([ClassificationPreset()], include_tests=True).run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
    )


def summary_from_snapshot(snapshot: dict[str, Any]) -> dict[str, float | None]:
    """The headline metrics of a ``ClassificationPreset`` snapshot (current data)."""
    out: dict[str, float | None] = {}
    for metric in snapshot["metrics"]:
        name = metric.get("metric_name", "").split("(", 1)[0]
        key = SUMMARY_METRICS.get(name)
        if key and key not in out and not isinstance(metric.get("value"), dict):
            value = metric.get("value")
            out[key] = None if value is None or math.isnan(float(value)) else float(value)
    return out
