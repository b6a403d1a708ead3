"""The one Settings class, read from the environment (prefix ``LIFEBOAT_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.access_settings import AccessSettings
from core.defaults import (
    DEFAULT_BATCH_PART_DECODED_BYTES,
    DEFAULT_BIND_HOST,
    DEFAULT_FEEDBACK_INDEX_MAX_PREDICTIONS,
    DEFAULT_GUARD_CHECK_SECONDS,
    DEFAULT_JOB_TTL,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_INSTANCES,
    DEFAULT_MAX_JSON_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES,
    DEFAULT_PREDICTION_LOG_MAXLEN,
    DEFAULT_QUEUED_LEASE,
    DEFAULT_RUNNING_LEASE,
    DEFAULT_STORAGE_PART_BYTES,
    DEFAULT_WORKER_GRACE,
    DEFAULT_WORKER_MAX_MEMORY_MB,
    JOB_TTL_FIELDS,
    SOFT_LIMIT_SHARE,
    TIME_LIMITED,
)


class Settings(BaseSettings, AccessSettings):
    """Configuration of every Lifeboat process."""

    model_config = SettingsConfigDict(env_prefix="LIFEBOAT_", extra="ignore")

    redis_url: str = "redis://127.0.0.1:6379/0"
    """Redis for the broker, the job store, the prediction log and pub/sub."""

    key_prefix: str = "lifeboat"
    """Prefix of every Redis key Lifeboat writes (lets several stacks share a Redis)."""

    models_dir: Path = Path("models")
    """Folder holding one sub-folder per installed model version."""

    storage_root: Path = Path("var")
    """Root of runtime files: uploads, results, reports (without ``storage_url``), metrics."""

    storage_url: str | None = Field(None, pattern=r"^s3://[^/]+(/.*)?$")
    """``s3://bucket/prefix``: stored files and model versions (``models/``) in S3-compatible
    storage (endpoint, keys: ``AWS_*`` variables); unset: ``storage_root``, ``models_dir``."""

    storage_presign: bool = False
    """Answer a result or report download with a redirect to a presigned URL (S3 only)."""

    storage_part_bytes: int = Field(DEFAULT_STORAGE_PART_BYTES, ge=5 * 1024 * 1024)
    """Bytes of one part of a multipart upload to S3 (5 MiB at least, S3's minimum)."""

    model_cache_dir: Path | None = None
    """Model versions this host took from ``storage_url`` (unset: <storage_root>/model-cache)."""

    job_ttl_seconds: int = Field(DEFAULT_JOB_TTL, ge=60)
    """Seconds a job record stays readable after its last change (each type may override it)."""

    prediction_job_ttl_seconds: int | None = Field(None, ge=60)
    """``job_ttl_seconds`` for prediction jobs (unset: ``job_ttl_seconds``)."""

    batch_job_ttl_seconds: int | None = Field(None, ge=60)
    """``job_ttl_seconds`` for batch jobs and their files (unset: ``job_ttl_seconds``)."""

    report_job_ttl_seconds: int | None = Field(None, ge=60)
    """``job_ttl_seconds`` for report jobs and their HTML (unset: ``job_ttl_seconds``)."""

    max_instances: int = Field(DEFAULT_MAX_INSTANCES, ge=1)
    """Largest number of instances in one prediction request."""

    max_json_bytes: int = Field(DEFAULT_MAX_JSON_BYTES, ge=1024)
    """Largest JSON request body, in bytes."""

    max_upload_bytes: int = Field(DEFAULT_MAX_UPLOAD_BYTES, ge=1024)
    """Largest CSV upload, in bytes."""

    max_wait_seconds: float = Field(30.0, ge=0)
    """Longest long-poll a client may ask for with ``?wait=``."""

    prediction_log_maxlen: int = Field(DEFAULT_PREDICTION_LOG_MAXLEN, ge=100)
    """Predictions (not stream entries) the prediction log keeps, up to one job's more."""

    microbatch_max_jobs: int = Field(64, ge=1)
    """Most prediction jobs a worker scores in one model call."""

    microbatch_max_rows: int = Field(4_096, ge=1)
    """Most rows a worker scores in one model call (one job is never split)."""

    publish_linger_ms: float = Field(3.0, ge=0, le=50)
    """While a web process's requests arrive together (its last message carried several
    jobs), how long it gathers more before publishing the next message: fewer messages,
    each costing the broker and the worker's consumer the same (0: never wait)."""

    claim_lease_seconds: float = Field(30.0, gt=0)
    """Lease of a claimed prediction job: re-queued by beat's sweeper when it runs out."""

    queued_lease_seconds: float = Field(DEFAULT_QUEUED_LEASE, gt=0)
    """A queued job or batch part no worker has taken after this long (its message was lost)
    is published again by beat's sweeper; each further time it waits twice as long, to 16x."""

    running_lease_seconds: float = Field(DEFAULT_RUNNING_LEASE, gt=0)
    """Lease of a running batch plan, batch part or report: its task renews it every third
    of this (a heartbeat); one whose worker died is re-queued after this long."""

    max_attempts: int = Field(DEFAULT_MAX_ATTEMPTS, ge=1)
    """Times a job or a batch part may be taken by a worker (a redelivery or a retry after
    a crash or a hard time limit counts); past it the job fails with error type ``poison``."""

    lease_sweep_seconds: float = Field(15.0, gt=0)
    """How often beat's sweeper looks for expired leases (and re-publishes or re-queues)."""

    lease_sweep_batch: int = Field(1_000, ge=1)
    """Most expired leases the sweeper reads in one Redis call (it reads again while full)."""

    prediction_time_limit: int = Field(60, ge=2)
    """Hard time limit, in seconds, of a prediction task: its pool process is killed."""

    prediction_soft_time_limit: int | None = Field(None, ge=1)
    """Soft time limit, in seconds, of a prediction task (below the hard one; unset: 90 % of
    it): the task fails the jobs it claimed, so none stays ``running``."""

    batch_time_limit: int = Field(6 * 3600, ge=2)
    """Hard time limit, in seconds, of a batch task: the plan and each part."""

    batch_soft_time_limit: int | None = Field(None, ge=1)
    """Soft time limit, in seconds, of a batch task (below the hard one; unset: 90 % of it):
    the batch job fails and its files are removed."""

    report_time_limit: int = Field(1800, ge=2)
    """Hard time limit, in seconds, of a report task."""

    report_soft_time_limit: int | None = Field(None, ge=1)
    """Soft time limit, in seconds, of a report task (below the hard one): the job fails."""

    maintenance_time_limit: int = Field(300, ge=2)
    """Hard time limit, in seconds, of beat's tasks and the accuracy update (re-publishing
    stale jobs, sweeping batch files, the drift check, accuracy gauges)."""

    maintenance_soft_time_limit: int | None = Field(None, ge=1)
    """Soft time limit, in seconds, of those tasks (unset: 90 % of the hard one)."""

    worker_grace_seconds: int = Field(DEFAULT_WORKER_GRACE, ge=2)
    """Seconds a stopping worker (SIGTERM) has: its running tasks finish, or are handed back
    to the queue a few seconds before the end (batch parts at once). ``make run``'s
    supervisor and compose's ``stop_grace_period`` wait this long before SIGKILL."""

    broker_visibility_timeout: int = Field(7 * 3600, ge=10)
    """Seconds before Redis re-delivers a message whose worker vanished without a trace."""

    worker_threads: int = Field(1, ge=1)
    """BLAS/OpenMP threads per worker process (more threads than cores slows scoring)."""

    worker_max_memory_mb: int = Field(DEFAULT_WORKER_MAX_MEMORY_MB, ge=0)
    """A pool process holding more than this (RSS, MB) after a task is replaced (0: never)."""

    fault_delay_seconds: float = Field(0.0, ge=0)
    """Sleep this long in each prediction task after claiming its job (fault-injection tests)."""

    batch_part_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    """Bytes of an upload scored by one part task; parts run on any free worker process."""

    batch_part_decoded_bytes: int = Field(DEFAULT_BATCH_PART_DECODED_BYTES, ge=1024)
    """Bytes of decoded data one batch part may produce (never less than ``batch_part_bytes``):
    over it, its job fails naming the part and row group (see ``ml.batch.budget``)."""

    batch_chunk_bytes: int = Field(256 * 1024, ge=1024)
    """Bytes of CSV a batch part reads, scores and writes at a time (cancel is seen between)."""

    batch_sweep_seconds: float = Field(600.0, gt=0)
    """How often the files of expired batch jobs are looked for and deleted."""

    batch_log_rows: int = Field(10_000, ge=0)
    """Rows of each batch job written to the prediction log (an even sample by row number),
    so that drift checks and drift reports see batch traffic too; 0 = none."""

    batch_fault_delay_seconds: float = Field(0.0, ge=0)
    """Sleep this long after each chunk of a batch part (fault-injection tests)."""

    batch_fault_stall_seconds: float = Field(0.0, ge=0)
    """Stall each batch part this long before it scores, deaf to its soft time limit (as
    C code stuck in a decoder): fault-injection tests of the hard time limit."""

    report_fault_delay_seconds: float = Field(0.0, ge=0)
    """Sleep this long in each report task after claiming its job (fault-injection tests)."""

    worker_metrics_host: str = DEFAULT_BIND_HOST
    """Address the worker's metrics endpoint binds (0.0.0.0 in containers, for Prometheus)."""

    worker_metrics_port: int = 9101
    """Port of the worker's aggregated Prometheus endpoint (0 disables it)."""

    reports_worker_metrics_port: int = 9102
    """Metrics port of the reports worker ``make run`` starts beside the scoring worker."""

    metrics_dir: Path | None = None
    """prometheus_client multiprocess folder; wiped when a web or worker main process starts."""

    worker_concurrency: int = Field(0, ge=0)
    """Pool processes of a Celery worker (0: one per CPU core, right for scoring); a
    ``--concurrency`` on the command line wins (the reports worker runs one)."""

    flower_port: int = 5555
    """Port of Flower started by ``make run``."""

    flower_url: str = "http://127.0.0.1:5555"
    """Where the console links to Flower ("" hides the link)."""

    grafana_url: str = "http://127.0.0.1:3000"
    """Where the console links to Grafana ("" hides the link)."""

    exporter_port: int = 9808
    """Port of celery-exporter started by ``make run``."""

    run_dir: Path = Path("var")
    """``make run``'s own files (relative to the project root): the private Redis, beat's
    schedule, the logs, supervisord's configuration and socket, the API key files."""

    redis_appendfsync: Literal["everysec", "always"] = "everysec"
    """When make run's (and compose's) Redis fsyncs its append-only file (README: Configuration)."""

    web_host: str = DEFAULT_BIND_HOST
    """Address gunicorn binds (0.0.0.0 or the host's own address to serve other hosts)."""

    web_port: int = 8000
    """Port gunicorn binds."""

    web_workers: int = Field(2, ge=1)
    """gunicorn worker processes."""

    web_connections: int = Field(4_000, ge=10)
    """Concurrent connections per gunicorn (gevent) worker; a waiting long-poll holds one
    (~25 KB of memory: 2,000 fit in one process, however the kernel spreads them)."""

    report_min_rows: int = Field(100, ge=2)
    """Fewest rows of current data a drift or performance report accepts (fewer: 422)."""

    report_max_rows: int = Field(1_000_000, ge=100)
    """Most rows of current data a report reads (an uploaded CSV is cut there)."""

    drift_check_interval_seconds: float = Field(300.0, gt=0)
    """Seconds between two scheduled drift checks (Celery beat)."""

    guard_check_seconds: float = Field(DEFAULT_GUARD_CHECK_SECONDS, gt=0)
    """Seconds between two checks of the canary's guard (Celery beat)."""

    drift_check_window: int = Field(10_000, ge=10)
    """Most recent logged predictions (all versions together) a scheduled drift check reads."""

    drift_check_min_rows: int = Field(500, ge=10)
    """A model version with fewer logged predictions in the window is not checked."""

    monitoring_window_rows: int = Field(100_000, ge=1_000)
    """Newest logged predictions (all versions) kept in Redis in columnar form (~70 bytes a
    row) for drift checks and drift reports; reports over more rows read the log itself."""

    accuracy_window: int = Field(1_000, ge=1)
    """Most recent predictions with feedback the rolling accuracy is measured on."""

    accuracy_min_labels: int = Field(50, ge=2)
    """Fewest predictions with feedback (both classes among them) before ROC AUC is reported."""

    feedback_retention_seconds: int = Field(7 * 86_400, ge=3_600)
    """How long after it was made a prediction can still receive feedback."""

    feedback_max_items: int = Field(10_000, ge=1)
    """Most items in one feedback request."""

    feedback_index_max_predictions: int = Field(DEFAULT_FEEDBACK_INDEX_MAX_PREDICTIONS, ge=1_000)
    """Predictions the feedback index holds at most (all model versions; ~190 bytes each in
    Redis): the oldest days are dropped first, the current day never (its indexing waits)."""

    feedback_max_labelled: int = Field(100_000, ge=100)
    """Predictions with feedback kept per model version (for accuracy and performance reports)."""

    def job_ttl(self, job_type: str) -> int:
        """Seconds a job of this type (a ``JobType`` value) stays readable after its last change."""
        override = getattr(self, JOB_TTL_FIELDS.get(str(job_type), ""), None)
        return self.job_ttl_seconds if override is None else override

    @model_validator(mode="after")
    def _soft_limits_below_hard(self) -> Settings:
        for kind in TIME_LIMITED:
            hard, soft = getattr(self, f"{kind}_time_limit"), self.soft_time_limit(kind)
            if soft >= hard:
                raise ValueError(f"{kind}_soft_time_limit ({soft}) must be below {hard}")
        return self

    def soft_time_limit(self, kind: str) -> int:
        """A kind of task's soft time limit: the one set, else 90 % of the hard limit."""
        soft = getattr(self, f"{kind}_soft_time_limit")
        hard = getattr(self, f"{kind}_time_limit")
        return soft if soft is not None else max(1, min(hard - 1, int(hard * SOFT_LIMIT_SHARE)))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, built once per entry point."""
    return Settings()
