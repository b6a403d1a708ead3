"""Default values and fixed tables of the Settings class (core.settings), kept apart so
that the class itself stays one readable list of settings."""

from __future__ import annotations

# what every server binds unless told: one host by default (make run); on many hosts set
# LIFEBOAT_*_HOST to the host's own address (or 0.0.0.0) so that the others reach it
DEFAULT_BIND_HOST = "127.0.0.1"
DEFAULT_JOB_TTL = 86_400  # seconds a job record (and its files) stays readable
DEFAULT_MAX_INSTANCES = 1_000  # instances in one prediction request
DEFAULT_MAX_JSON_BYTES = 2 * 1024 * 1024  # a JSON body larger than this is refused with 413
DEFAULT_MAX_UPLOAD_BYTES = 1024**3  # a CSV upload larger than this is refused with 413
DEFAULT_PREDICTION_LOG_MAXLEN = 100_000  # predictions kept in the prediction log
DEFAULT_TENANT_MAX_ACTIVE_JOBS = 1_000  # queued + running jobs of one tenant
DEFAULT_TENANT_MAX_ACTIVE_BATCHES = 4  # batch jobs of one tenant queued or running at once
DEFAULT_TENANT_MAX_STORED_BYTES = 20 * 1024**3  # bytes of one tenant's uploads and results
# a lean scoring process holds ~100-200 MB; one that loaded scikit-learn (a model version
# without lean artifact, a report) holds more and is replaced after its task
DEFAULT_WORKER_MAX_MEMORY_MB = 400
# predictions the feedback index holds at most: ~190 bytes of Redis each (a uuid job id),
# ~95 MB, under a fifth of the compose Redis's 512 MB maxmemory
DEFAULT_FEEDBACK_INDEX_MAX_PREDICTIONS = 500_000
# the field holding each job type's TTL override (a job type's value: see core.jobs.JobType)
JOB_TTL_FIELDS = {
    "prediction": "prediction_job_ttl_seconds",
    "batch": "batch_job_ttl_seconds",
    "drift_report": "report_job_ttl_seconds",
    "performance_report": "report_job_ttl_seconds",
    "comparison_report": "report_job_ttl_seconds",
}
# a Parquet page is decompressed whole (at most its column chunk's uncompressed size): a lean
# scoring process (~100-120 MB) holding one and its decoded copy stays under ~250 MB
DEFAULT_BATCH_PART_DECODED_BYTES = 64 * 1024 * 1024
DEFAULT_RATE_LIMIT_PER_SECOND = 100.0  # requests per second an API key may sustain
DEFAULT_RATE_LIMIT_BURST_SECONDS = 2  # a key may send this many seconds of its rate at once
DEFAULT_KEY_MAX_CONCURRENT_REQUESTS = 2  # of one API key a web process works on at once, shared
DEFAULT_KEY_ADMISSION_WAIT_SECONDS = 5.0  # a request past that cap waits this long, then 429
DEFAULT_WORKER_GRACE = 30  # seconds a stopping worker's running tasks have to finish
DEFAULT_QUEUED_LEASE = 60.0  # seconds a queued job may wait for a worker before re-publishing
DEFAULT_RUNNING_LEASE = 60.0  # seconds of a running plan, part or report's lease (renewed)
DEFAULT_MAX_ATTEMPTS = 3  # times a job or a batch part may be taken before it is poison
DEFAULT_WEBHOOK_RETRY = 86_400  # seconds a failing webhook delivery is retried
# a multipart upload holds about part size x parts in flight (core.storage.s3): 16 MiB
DEFAULT_STORAGE_PART_BYTES = 8 * 1024 * 1024  # bytes of one part of an upload to S3
SOFT_LIMIT_SHARE = 0.9  # an unset soft time limit is this share of the hard one


TIME_LIMITED = ("prediction", "batch", "report", "maintenance")  # kinds of task with limits
DEFAULT_GUARD_CHECK_SECONDS = 30.0  # seconds between two checks of the canary's guard
