"""Every Prometheus metric of Lifeboat, defined once.

Names carry their unit; labels are low-cardinality only (model version, class,
route template, job type, status, feature name, role: primary or shadow) — never job
ids or client data.
The ``ml_*`` names are kept from the seed project so its dashboards keep working.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
TURNAROUND_BUCKETS = (
    0.002,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1,
    2.5,
    5,
    10,
    30,
    60,
    300,
    1800,
)
CONFIDENCE_BUCKETS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
MICROBATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)

# Every metric is created on first use, not at import: in multiprocess mode a metric must be
# created after ``telemetry.multiprocess.prepare`` chose the value store (gunicorn's arbiter and
# a Celery worker's main process call it at start). Modules import this module at the top and
# read ``metrics.NAME``; never ``from telemetry.metrics import NAME`` (that creates them all).
PREDICTIONS: Counter
PREDICTION_LATENCY: Histogram
PREDICTION_ERRORS: Counter
PREDICTION_CONFIDENCE: Histogram
MICROBATCH_JOBS: Histogram
DATA_DRIFT_SCORE: Gauge
FEATURE_DRIFT_SCORE: Gauge
DATA_DRIFT_DETECTED: Counter
MODEL_ACCURACY: Gauge
MODEL_ESTIMATED_ACCURACY: Gauge
JOBS_SUBMITTED: Counter
JOBS_FINISHED: Counter
JOB_TURNAROUND: Histogram
JOBS_IN_PROGRESS: Gauge
BATCH_ROWS: Counter
PREDICTION_LOG_LENGTH: Gauge
WORKER_THREAD_LIMIT: Gauge
HTTP_REQUESTS: Counter
HTTP_DURATION: Histogram
MODEL_ROC_AUC: Gauge
MODEL_LABELLED_PREDICTIONS: Gauge
BATCH_UPLOAD_BYTES: Counter
BATCH_PARTS: Counter
LEASES_EXPIRED: Counter
BEAT_TASK_LAST_RUN: Gauge
BEAT_TASK_INTERVAL: Gauge
GUARD_ROLLBACKS: Counter
QUEUE_BACKLOG_PER_WORKER: Gauge
QUEUE_OLDEST_MESSAGE_AGE: Gauge
QUEUE_WORKERS: Gauge
DEPLOYMENT_CHANGES: Counter

_lock = threading.Lock()
_created: dict[str, Any] | None = None


def _create() -> dict[str, Any]:
    return {
        # --- model ----------
        "PREDICTIONS": Counter(
            "ml_predictions_total",
            "Predictions made (one per scored row), by the version that answered (role"
            " primary) or a shadow version scoring the same instances (role shadow).",
            ["model_version", "prediction_class", "role"],
        ),
        "PREDICTION_LATENCY": Histogram(
            "ml_prediction_latency_seconds",
            "Time of one model call (all rows scored together).",
            ["model_version", "role"],
            buckets=LATENCY_BUCKETS,
        ),
        "PREDICTION_ERRORS": Counter(
            "ml_prediction_errors_total",
            "Jobs that could not be scored, by error type, model version and role (a shadow"
            " version's failures count here with role shadow; their jobs succeed).",
            ["model_version", "error_type", "role"],
        ),
        "PREDICTION_CONFIDENCE": Histogram(
            "ml_prediction_confidence",
            "Probability of the predicted class.",
            ["model_version", "prediction_class", "role"],
            buckets=CONFIDENCE_BUCKETS,
        ),
        "MICROBATCH_JOBS": Histogram(
            "lifeboat_microbatch_jobs",
            "Prediction jobs scored together in one model call.",
            ["model_version"],
            buckets=MICROBATCH_BUCKETS,
        ),
        "DATA_DRIFT_SCORE": Gauge(
            "ml_data_drift_score",
            "Share of features whose drift test fired in the last drift check.",
            ["model_version"],
            multiprocess_mode="mostrecent",
        ),
        "FEATURE_DRIFT_SCORE": Gauge(
            "ml_feature_drift_score",
            "Drift score of one feature in the last drift check.",
            ["model_version", "feature_name"],
            multiprocess_mode="mostrecent",
        ),
        "DATA_DRIFT_DETECTED": Counter(
            "ml_data_drift_detected_total",
            "Drift checks in which a feature drifted.",
            ["feature_name"],
        ),
        "MODEL_ACCURACY": Gauge(
            "ml_model_accuracy",
            "Rolling accuracy measured on predictions with feedback.",
            ["model_version"],
            multiprocess_mode="mostrecent",
        ),
        "MODEL_ESTIMATED_ACCURACY": Gauge(
            "ml_model_estimated_accuracy",
            "Accuracy estimated without labels from the probabilities.",
            ["model_version"],
            multiprocess_mode="mostrecent",
        ),
        # --- jobs ----------
        "JOBS_SUBMITTED": Counter(
            "lifeboat_jobs_submitted_total", "Jobs accepted by the API.", ["type"]
        ),
        "JOBS_FINISHED": Counter(
            "lifeboat_jobs_finished_total",
            "Jobs that reached a terminal status.",
            ["type", "status"],
        ),
        "JOB_TURNAROUND": Histogram(
            "lifeboat_job_turnaround_seconds",
            "Time from a job's creation to its end.",
            ["type"],
            buckets=TURNAROUND_BUCKETS,
        ),
        "JOBS_IN_PROGRESS": Gauge(
            "lifeboat_jobs_in_progress",
            "Jobs a worker process is running now.",
            ["type"],
            multiprocess_mode="livesum",
        ),
        "BATCH_ROWS": Counter(
            "lifeboat_batch_rows_total",
            "Rows of uploaded files processed, by outcome.",
            ["model_version", "outcome"],
        ),
        "PREDICTION_LOG_LENGTH": Gauge(
            "lifeboat_prediction_log_length",
            "Predictions in the prediction log (its stream entries hold a job's predictions each).",
            multiprocess_mode="mostrecent",
        ),
        "WORKER_THREAD_LIMIT": Gauge(
            "lifeboat_worker_thread_limit",
            "BLAS/OpenMP threads allowed per worker process.",
            multiprocess_mode="max",
        ),
        # --- HTTP ----------
        "HTTP_REQUESTS": Counter(
            "lifeboat_http_requests_total", "HTTP requests answered.", ["route", "method", "status"]
        ),
        "HTTP_DURATION": Histogram(
            "lifeboat_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
        ),
        # --- model monitoring ----------
        "MODEL_ROC_AUC": Gauge(
            "ml_model_roc_auc",
            "Rolling ROC AUC measured on predictions with feedback"
            " (when both classes are among them).",
            ["model_version"],
            multiprocess_mode="mostrecent",
        ),
        "MODEL_LABELLED_PREDICTIONS": Gauge(
            "ml_model_labelled_predictions",
            "Predictions with feedback the rolling accuracy is measured on.",
            ["model_version"],
            multiprocess_mode="mostrecent",
        ),
        # --- batches ----------
        "BATCH_UPLOAD_BYTES": Counter(
            "lifeboat_batch_upload_bytes_total", "Bytes of CSV files accepted for batch jobs."
        ),
        "BATCH_PARTS": Counter(
            "lifeboat_batch_parts_total",
            "Parts of batch jobs scored by a worker process, by outcome.",
            ["outcome"],
        ),
        "LEASES_EXPIRED": Counter(
            "lifeboat_leases_expired_total",
            "Expired leases the sweeper took back and published again, by what held them"
            " (prediction, batch, drift_report, performance_report, part) and state (queued:"
            " its message was lost or late; running: its worker died).",
            ["kind", "state"],
        ),
        # --- deployment ----------
        "DEPLOYMENT_CHANGES": Counter(
            "lifeboat_deployment_changes_total",
            "Changes of the traffic policy (set, promote, rollback, guard), by action: dashboards"
            " draw them as annotations.",
            ["action"],
        ),
        # --- beat ----------
        # "max" across processes, dead ones included: the last run by any process counts
        "BEAT_TASK_LAST_RUN": Gauge(
            "lifeboat_beat_task_last_run_timestamp_seconds",
            "Unix time a beat-scheduled task last completed (until it first does: when the"
            " worker consuming its queue started).",
            ["task"],
            multiprocess_mode="max",
        ),
        "BEAT_TASK_INTERVAL": Gauge(
            "lifeboat_beat_task_interval_seconds",
            "Seconds between two runs of a beat-scheduled task.",
            ["task"],
            multiprocess_mode="max",
        ),
        # --- deployment ----------
        "GUARD_ROLLBACKS": Counter(
            "lifeboat_deployment_guard_rollbacks_total",
            "Canaries ended by their guard (error rate or measured accuracy past a threshold).",
            ["model_version"],
        ),
        # --- autoscaling signals (core/backlog.py; the web sets them when /metrics is read) ---
        "QUEUE_BACKLOG_PER_WORKER": Gauge(
            "lifeboat_queue_backlog_messages_per_worker",
            "Messages waiting in a Celery queue per live worker consuming it (the whole"
            " backlog when none is live): scale the queue's workers on it.",
            ["queue"],
            multiprocess_mode="mostrecent",
        ),
        "QUEUE_OLDEST_MESSAGE_AGE": Gauge(
            "lifeboat_queue_oldest_message_age_seconds",
            "Seconds the oldest message waiting in a Celery queue has waited since it was"
            " first published (0 when none waits).",
            ["queue"],
            multiprocess_mode="mostrecent",
        ),
        "QUEUE_WORKERS": Gauge(
            "lifeboat_queue_workers",
            "Live Celery workers consuming a queue (each announces itself every 5 s).",
            ["queue"],
            multiprocess_mode="mostrecent",
        ),
    }


def __getattr__(name: str) -> Any:
    """Create every metric on the first read of one (PEP 562 module attribute)."""
    global _created  # noqa: PLW0603 — one set of metrics per process
    if not name.isupper():
        raise AttributeError(name)
    if _created is None:
        with _lock:
            if _created is None:
                _created = _create()
    try:
        return _created[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no metric {name!r}") from None


def observe_many(child: Any, values: Sequence[float]) -> None:
    """``child.observe(v)`` for every value, with one increment per bucket that got any.

    In multiprocess mode every observation writes the memory-mapped file twice (sum
    and bucket): a 1000-row job's confidences took ~2 ms one at a time. The sum is
    added once, so its last bits may differ from 1000 separate additions.
    Uses the histogram child's ``_upper_bounds``, ``_sum`` and ``_buckets``
    (prometheus_client 0.26; a test compares it with ``observe``).
    """
    if not values:
        return
    bounds = child._upper_bounds
    counts = [0] * len(bounds)
    total = 0.0
    for value in values:
        total += value
        if not math.isnan(value):  # NaN falls in no bucket, as in observe
            counts[bisect_left(bounds, value)] += 1
    child._sum.inc(total)
    for bucket, count in zip(child._buckets, counts, strict=True):
        if count:
            bucket.inc(count)
