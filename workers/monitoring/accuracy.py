"""The measured-accuracy gauges: rolling accuracy (and ROC AUC) over predictions with feedback.

Set in the worker (a task queued by ``POST /feedback``, and every scheduled drift
check), so ``ml_model_accuracy`` and ``ml_model_estimated_accuracy`` come from
the same place (the worker's ``/metrics``) and the web stays free of numpy.
"""

from __future__ import annotations

import json
import time
from typing import Any

from core.monitoring_records import MEASURED_ACCURACY, add_point
from ml.monitoring.performance import rolling_metrics
from telemetry import metrics
from workers.monitoring import data
from workers.runtime import Runtime


def update_accuracy(rt: Runtime, versions: list[str] | None = None) -> dict[str, Any]:
    """Recompute the gauges of ``versions`` (every version with feedback when None), and
    keep each version's figures in Redis for ``GET /models/{version}/monitoring``."""

    s = rt.settings
    store = data.feedback_store(rt)
    out: dict[str, Any] = {}
    for version in versions if versions is not None else store.versions():
        outcomes = store.labelled(version, s.accuracy_window)
        if not outcomes:
            continue
        try:
            labels = list(rt.registry.card(version)["class_labels"])
        except Exception:  # noqa: BLE001 — an uninstalled version: accuracy without AUC
            labels = []
        positive = labels[1] if len(labels) == 2 else None
        measured = rolling_metrics(
            [o.actual for o in outcomes],
            [o.prediction for o in outcomes],
            [o.probabilities.get(positive, 0.0) for o in outcomes] if positive else None,
            positive_label=positive,
            min_labels_for_auc=s.accuracy_min_labels,
        )
        record = {"measured_at": time.time(), "window": s.accuracy_window, **measured}
        rt.redis.set(rt.keys.accuracy(version), json.dumps(record), ex=s.job_ttl_seconds)
        point = {"accuracy": measured["accuracy"], "labelled": measured["labelled"]}
        add_point(
            rt.redis,
            rt.keys,
            version,
            {"at": record["measured_at"], "kind": MEASURED_ACCURACY, **point},
            s.job_ttl_seconds,
        )
        metrics.MODEL_ACCURACY.labels(version).set(measured["accuracy"])
        metrics.MODEL_LABELLED_PREDICTIONS.labels(version).set(measured["labelled"])
        if measured["roc_auc"] is not None:
            metrics.MODEL_ROC_AUC.labels(version).set(measured["roc_auc"])
        out[version] = measured
    return out
