"""The scheduled drift check (Celery beat): numbers only, fast, straight to the gauges.

Every ``LIFEBOAT_DRIFT_CHECK_INTERVAL_SECONDS`` it catches up the monitoring
window (:mod:`workers.monitoring.window`: only the entries logged since the last
catch-up are decoded), takes its last ``LIFEBOAT_DRIFT_CHECK_WINDOW`` logged
predictions, and for each model version with at least
``LIFEBOAT_DRIFT_CHECK_MIN_ROWS`` of them and new ones since its last check:

- computes each feature's drift with the test Evidently would pick
  (:func:`ml.monitoring.drift.compute_drift`, no Evidently import, no HTML) and sets
  ``ml_data_drift_score`` (share of drifted features), ``ml_feature_drift_score``
  (each feature's score: a p-value for K-S / chi-square / Z, a distance for
  Wasserstein / Jensen-Shannon) and counts ``ml_data_drift_detected_total`` for
  each drifted feature;
- estimates the accuracy from the probabilities (``ml_model_estimated_accuracy``);
- records the outcome in Redis (``{prefix}:drift:last:{version}``).

It also refreshes the measured-accuracy gauges, catches up the feedback index and
removes report files older than the job TTL.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from core.jobs import JobType
from core.monitoring_records import DRIFT_CHECK, add_point
from core.storage import layout, storage_of
from ml.monitoring.drift import compute_drift
from ml.monitoring.estimation import calibration_of, expected_accuracy
from telemetry import metrics
from workers.monitoring import data
from workers.monitoring import window as monitoring_window
from workers.monitoring.accuracy import update_accuracy
from workers.monitoring.columns import LogColumns
from workers.runtime import Runtime

log = logging.getLogger(__name__)


def last_check_key(rt: Runtime, version: str) -> str:
    return rt.keys.drift_check(version)


def check(rt: Runtime) -> dict[str, Any]:
    """Run one scheduled check; returns what was checked, per model version."""
    s = rt.settings
    catchup = monitoring_window.current(rt)
    window = catchup.columns.select(slice(-s.drift_check_window, None))
    done: dict[str, Any] = {}
    for version in window.present_versions():
        rows = window.of_version(version)
        if len(rows) < s.drift_check_min_rows:
            done[version] = f"skipped: {len(rows)} predictions < {s.drift_check_min_rows}"
            continue
        try:
            done[version] = check_version(rt, version, rows, catchup)
        except Exception as exc:  # one broken version must not stop the others
            log.exception("drift check of model version %s failed", version)
            done[version] = f"failed: {exc}"
    done["_window"] = {
        "rows": len(catchup.columns),
        "read_entries": catchup.read_entries,
        "rebuilt": catchup.rebuilt,
    }
    done["_accuracy"] = update_accuracy(rt)
    done["_indexed"] = data.feedback_store(rt).catch_up()
    done["_reports_removed"] = remove_old_reports(rt)
    return done


def check_version(
    rt: Runtime, version: str, rows: LogColumns, catchup: monitoring_window.Catchup
) -> dict[str, Any] | str:
    """Check one version's rows of the window unless they have not changed since last time."""

    key = last_check_key(rt, version)
    marker = {"newest_ts": float(rows.ts[-1]), "rows": len(rows)}
    previous = json.loads(rt.redis.get(key) or "null") or {}
    if previous.get("window_marker") == marker:
        return "unchanged"
    since = (previous.get("window_marker") or {}).get("newest_ts")  # new rows: the volume
    new_rows = len(rows) if since is None else int((rows.ts > since).sum())
    started = time.perf_counter()
    types = data.column_types(rt, version)
    reference = data.reference_frame(rt, version)
    labels = list(rt.registry.card(version)["class_labels"])
    current = rows.frame(types.numerical, types.categorical)
    proba = rows.probabilities(labels)
    summary = compute_drift(current, reference, types)
    estimated = data.accuracy_estimator(rt, version).estimate(proba)
    raw_confidence = expected_accuracy(proba)
    seconds = time.perf_counter() - started

    metrics.DATA_DRIFT_SCORE.labels(version).set(summary.share_of_drifted_features)
    for name, feature in summary.features.items():
        metrics.FEATURE_DRIFT_SCORE.labels(version, name).set(feature.score)
        if feature.drifted:
            metrics.DATA_DRIFT_DETECTED.labels(name).inc()
    metrics.MODEL_ESTIMATED_ACCURACY.labels(version).set(estimated)
    record = {
        "checked_at": time.time(),
        "model_version": version,
        "rows": len(rows),
        "window_marker": marker,
        "read_seconds": catchup.seconds,
        "read_entries": catchup.read_entries,
        "window_rebuilt": catchup.rebuilt,
        "compute_seconds": seconds,
        "summary": summary.to_dict(),
        "estimated_accuracy": estimated,
        "raw_confidence": raw_confidence,
        "calibration": calibration_of(rt.registry.card(version)),
    }
    rt.redis.set(key, json.dumps(record), ex=rt.settings.job_ttl_seconds)
    point = {
        "at": record["checked_at"],
        "kind": DRIFT_CHECK,
        "estimated_accuracy": estimated,
        "share_of_drifted_features": summary.share_of_drifted_features,
        "rows": len(rows),
        "new_predictions": new_rows,
    }
    add_point(rt.redis, rt.keys, version, point, rt.settings.job_ttl_seconds)
    if summary.drifted_features:
        log.warning(
            "drift in model version %s: %s (share %.2f)",
            version,
            ", ".join(summary.drifted_features),
            summary.share_of_drifted_features,
        )
    return {
        "rows": len(rows),
        "share_of_drifted_features": summary.share_of_drifted_features,
        "drifted": summary.drifted_features,
        "estimated_accuracy": estimated,
    }


def remove_old_reports(rt: Runtime) -> int:
    """Delete report files older than the report jobs' TTL (their jobs have expired)."""
    store = storage_of(rt.settings)
    cutoff = time.time() - rt.settings.job_ttl(JobType.DRIFT_REPORT)
    removed = 0
    for entry in list(store.list(layout.REPORTS)):
        if entry.modified < cutoff:
            store.delete(entry.key)
            removed += 1
    return removed
