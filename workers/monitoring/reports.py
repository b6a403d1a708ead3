"""Report jobs: drift (``DataDriftPreset``), performance (``ClassificationPreset``) and
comparison (:mod:`workers.monitoring.comparison`).

A report task claims its job, reads the current data (a window of the
prediction log, the labelled predictions, or the uploaded CSV), runs Evidently
against the model version's reference data, stores the HTML as
``reports/{job id}.html`` (:mod:`core.storage`: whole or not at all) and finishes
the job with a JSON summary. The job's lease is renewed while it builds (a
heartbeat); if its worker dies, the sweeper queues it again. The job store lets a
job finish once: a redelivered task finds it finished and returns; a cancelled
job's HTML is removed.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from core.jobs import ClaimOutcome, Job, JobStatus, JobType, Outcome
from core.storage import layout, storage_of
from ml.data.loading import coerce_features
from ml.monitoring import drift, performance
from ml.monitoring.estimation import estimate
from ml.monitoring.performance import classification_frame, proba_column, rolling_metrics
from ml.monitoring.unknown_categories import known_categories, replace_unknown
from workers import lifecycle
from workers.leases import heartbeat
from workers.monitoring import comparison, data
from workers.monitoring import window as monitoring_window
from workers.monitoring.columns import Layout, LogColumns
from workers.monitoring.common import ReportError, check_rows, save_html, window_info
from workers.monitoring.log import gc_paused
from workers.runtime import Runtime

log = logging.getLogger(__name__)


def run(rt: Runtime, job_id: str, owner: str) -> str:
    """Build the report of ``job_id``; returns what happened, for the task's log."""
    job = lifecycle.claim(rt, job_id, owner)
    if job is ClaimOutcome.POISON:
        poisoned, error = lifecycle.poisoned(rt, job_id)
        lifecycle.finish(rt, poisoned, Outcome(job_id, JobStatus.FAILED, error=error))
        _discard_upload(rt, poisoned)
        return job.value
    if not isinstance(job, Job):
        return job.value
    key = layout.report(job.id)
    store = storage_of(rt.settings)
    started = time.perf_counter()
    with lifecycle.in_progress(job.type), heartbeat.held(rt, job.id, owner):
        if rt.settings.report_fault_delay_seconds:  # fault injection: a window to kill in
            time.sleep(rt.settings.report_fault_delay_seconds)
        try:
            outcome = Outcome(job.id, JobStatus.SUCCEEDED, result=build(rt, job, key))
        except Exception as exc:  # the job fails with the reason; the worker goes on
            expected = isinstance(exc, (ReportError, ValueError))
            log.warning("report job %s failed: %s", job.id, exc, exc_info=not expected)
            store.delete(key)
            outcome = Outcome(job.id, JobStatus.FAILED, error=lifecycle.error_of(exc))
        finally:
            _discard_upload(rt, job)
    if not lifecycle.finish(rt, job, outcome):  # cancelled meanwhile, or finished elsewhere
        if rt.store.get(job.id).status is not JobStatus.SUCCEEDED:
            store.delete(key)
        return "already finished"
    log.info(
        "report job %s %s in %.2f s", job.id, outcome.status.value, time.perf_counter() - started
    )
    return outcome.status.value


def build(rt: Runtime, job: Job, key: str) -> dict[str, Any]:
    """Build the report of ``job``, store its HTML as ``key``; returns the job's result."""
    if job.type is JobType.DRIFT_REPORT:
        return _drift(rt, job, key)
    if job.type is JobType.PERFORMANCE_REPORT:
        return _performance(rt, job, key)
    if job.type is JobType.COMPARISON_REPORT:
        return comparison.build(rt, job, key)
    raise ReportError(f"job {job.id} is a {job.type.value} job, not a report")


def _discard_upload(rt: Runtime, job: Job) -> None:
    upload = job.params.get("upload")
    if upload and layout.is_report_upload(upload):  # a key this platform named, nothing else
        storage_of(rt.settings).delete(upload)


# --- drift -----------------------------------------------------------------------------------
def _drift(rt: Runtime, job: Job, key: str) -> dict[str, Any]:
    version = lifecycle.version_of(job)
    types = data.column_types(rt, version)
    reference = data.reference_frame(rt, version)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    unknown: dict[str, int] | None = None  # unknown categories replaced in an upload
    if job.params.get("source") == "upload":
        current, window = _uploaded_features(rt, job, types)
        current, unknown = replace_unknown(current, known_categories(rt.registry.schema(version)))
    else:
        current, window = _logged_features(rt, job, version, types)
    check_rows(rt, len(current), "predictions")
    rt.store.set_progress(job.id, len(current), len(current))
    t1 = time.perf_counter()
    snapshot = drift.drift_report(current, reference, types)
    t2 = time.perf_counter()
    summary = drift.summary_from_snapshot(
        snapshot.dict(),
        order=types.all,
        current_rows=len(current),
        reference_rows=len(reference),
    )
    size = save_html(rt, snapshot, key)
    t3 = time.perf_counter()
    timings = {"read_seconds": t1 - t0, "evidently_seconds": t2 - t1, "html_seconds": t3 - t2}
    return {
        "type": "drift",
        "model_version": version,
        "window": window,
        "summary": {**summary.to_dict(), **_unknown_summary(unknown)},
        "report": {"url": f"/api/v1/jobs/{job.id}/report", "bytes": size},
        "timings": {k: round(v, 4) for k, v in timings.items()},
    }


def _unknown_summary(unknown: dict[str, int] | None) -> dict[str, Any]:
    """The count of uploaded categorical values the schema does not know, per column."""
    return {} if unknown is None else {"unknown_categories": unknown}


def _logged_features(rt: Runtime, job: Job, version: str, types: Any) -> tuple[Any, dict]:
    """The features of the requested window: from the monitoring window when it holds them."""

    w = job.params.get("window", {})
    last = w.get("last")
    if last is not None and w.get("since") is None and w.get("until") is None:
        caught_up = monitoring_window.current(rt)
        rows = caught_up.columns.of_version(version)
        complete = len(caught_up.columns) < monitoring_window.capacity(rt)  # the whole log
        if len(rows) >= last or complete:
            rows = rows.select(slice(-last, None))
            frame = rows.frame(types.numerical, types.categorical)
            return frame, window_info(w, rows.ts.tolist(), source="prediction log")
    with gc_paused():
        window = data.prediction_log(rt).window(
            version=version,
            last=last,
            since=w.get("since"),
            until=w.get("until"),
            max_rows=w.get("max_rows"),
        )
        layout = Layout(tuple(types.numerical), tuple(types.categorical), ())
        columns = LogColumns.from_records(window.records, layout)
        window.records.clear()
        frame = columns.frame(types.numerical, types.categorical)
        info = window_info(w, columns.ts.tolist(), source="prediction log")
    return frame, info


def _read_upload(rt: Runtime, job: Job, columns: list[str]) -> Any:
    upload = job.params.get("upload")
    gone = ReportError("the uploaded file is gone (its job was probably redelivered)")
    if not upload or not layout.is_report_upload(upload):
        raise gone
    try:
        with storage_of(rt.settings).open_stream(upload) as f:
            return pd.read_csv(
                f,
                usecols=columns,
                nrows=rt.settings.report_max_rows,
                keep_default_na=False,
                na_values=[""],
                low_memory=False,
            )
    except FileNotFoundError as exc:
        raise gone from exc
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise ReportError(f"the uploaded CSV cannot be read: {exc}") from exc


def _uploaded_features(rt: Runtime, job: Job, types: Any) -> tuple[Any, dict]:
    raw = _read_upload(rt, job, types.all)
    frame = coerce_features(raw, types.numerical, types.categorical)
    return frame, {"source": "upload", "rows": len(frame)}


# --- performance -------------------------------------------------------------------------------
def _performance(rt: Runtime, job: Job, key: str) -> dict[str, Any]:

    version = lifecycle.version_of(job)
    card = rt.registry.card(version)
    labels = list(card["class_labels"])
    target = card.get("target", "target")
    if job.params.get("source") == "upload":
        actual, predicted, proba, window = _uploaded_labelled(rt, job, version, target)
    else:
        actual, predicted, proba, window = _labelled(rt, job, version, labels)
    check_rows(rt, len(actual), "predictions with feedback")
    rt.store.set_progress(job.id, len(actual), len(actual))
    current = classification_frame(actual, predicted, proba, labels)
    ref_raw = data.reference_frame(rt, version)
    ref_proba = np.column_stack([ref_raw[proba_column(c)].to_numpy(dtype=float) for c in labels])
    reference = classification_frame(
        ref_raw[target].astype(str).tolist(),
        ref_raw["prediction"].astype(str).tolist(),
        ref_proba,
        labels,
    )
    snapshot = performance.performance_report(current, reference, labels)
    size = save_html(rt, snapshot, key)
    positive = labels[1] if len(labels) == 2 else None
    live = rolling_metrics(
        actual,
        predicted,
        proba[:, 1] if positive else None,
        positive_label=positive,
        min_labels_for_auc=rt.settings.accuracy_min_labels,
    )
    return {
        "type": "performance",
        "model_version": version,
        "window": window,
        "summary": {
            "labelled": len(actual),
            "metrics": performance.summary_from_snapshot(snapshot.dict()),
            "accuracy": live["accuracy"],
            "roc_auc": live["roc_auc"],
            "estimate": estimate(data.accuracy_estimator(rt, version), proba, card),
            "holdout_metrics": card.get("holdout_metrics"),
        },
        "report": {"url": f"/api/v1/jobs/{job.id}/report", "bytes": size},
    }


def _labelled(rt: Runtime, job: Job, version: str, labels: list[str]) -> tuple:

    w = job.params.get("window", {})
    limit = w.get("last") or w.get("max_rows") or rt.settings.feedback_max_labelled
    outcomes = data.feedback_store(rt).labelled(version, rt.settings.feedback_max_labelled)
    if "last" not in w:
        since = w.get("since") or 0.0
        until = w.get("until") or float("inf")
        outcomes = [o for o in outcomes if since <= o.ts <= until]
    outcomes = outcomes[:limit]
    outcomes.reverse()  # oldest first
    proba = np.array(
        [[o.probabilities.get(c, np.nan) for c in labels] for o in outcomes], dtype=float
    ).reshape(len(outcomes), len(labels))
    window = window_info(w, [o.ts for o in outcomes], source="predictions with feedback")
    return [o.actual for o in outcomes], [o.prediction for o in outcomes], proba, window


def _uploaded_labelled(rt: Runtime, job: Job, version: str, target: str) -> tuple:
    types = data.column_types(rt, version)
    raw = _read_upload(rt, job, [*types.all, target])
    model = rt.model(version)
    labels = list(model.class_labels)
    actual = raw[target].astype(str).tolist()
    unknown = sorted(set(actual) - set(labels))
    if unknown:
        raise ReportError(
            f"column {target!r} holds values that are not class labels: {unknown[:5]}"
        )
    features = coerce_features(raw[types.all], types.numerical, types.categorical)
    features, unknown = replace_unknown(features, known_categories(model.schema))
    proba = model.predict_proba_frame(features)
    predicted = [labels[i] for i in proba.argmax(axis=1)]
    window = {"source": "upload", "rows": len(actual), "unknown_categories": unknown}
    return actual, predicted, proba, window
