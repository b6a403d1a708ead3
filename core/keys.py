"""Every Redis key name Lifeboat uses, built from the one key prefix (``LIFEBOAT_KEY_PREFIX``).

No other module spells a key out: the web, the workers, the Lua scripts (which
receive keys, or the prefixes below, as arguments) and the tests all ask a
:class:`Keys`. Celery's own keys (queues, results) are Celery's business.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "lifeboat"
# a tenant's quota keys, in the order the job scripts read them (core/scripts/quota.lua):
# active jobs and active batches (sorted sets: job id -> when its share lapses), jobs with
# stored files (job id -> when they expire) and their bytes (a hash, with the total)
TENANT_QUOTA_PARTS = ("jobs", "batches", "files", "bytes")
BATCH_PARTS_SUFFIX = ":parts"  # after ``batch_prefix`` and the job id: its parts' leases


@dataclass(frozen=True)
class Keys:
    """The key names under one prefix."""

    prefix: str = DEFAULT_PREFIX

    # --- jobs ----------------------------------------------------------------------------
    @property
    def job_prefix(self) -> str:
        """What a job id is appended to for its record (a hash); scripts build keys with it."""
        return f"{self.prefix}:job:"

    def job(self, job_id: str) -> str:
        return f"{self.job_prefix}{job_id}"

    def job_result(self, job_id: str) -> str:
        """A finished job's result when it is large (a string, the job's TTL): kept out of
        its record so that reading the record's state never moves it."""
        return f"{self.prefix}:result:{job_id}"

    @property
    def recent_jobs(self) -> str:
        """Sorted set of job ids by creation time."""
        return f"{self.prefix}:jobs:recent"

    @property
    def leases(self) -> str:
        """Sorted set of every non-terminal job and running batch part, by lease deadline.

        A member is a job id (queued: must be taken by then; running: its worker must
        renew it by then) or ``lease_part`` of a batch part; beat's sweeper reads only the
        members past their deadline (:mod:`workers.sweeper`).
        """
        return f"{self.prefix}:leases"

    @staticmethod
    def lease_part(job_id: str, index: int) -> str:
        """A batch part's member of ``leases`` (``<job id>/<part>``; job ids hold no ``/``)."""
        return f"{job_id}/{index}"

    def pending(self, job_type: str) -> str:
        """List of queued job ids of a type that workers may claim beside their own."""
        return f"{self.prefix}:pending:{job_type}"

    def claims(self, owner: str) -> str:
        """Set of the job ids a task has claimed (found again when it is redelivered)."""
        return f"{self.prefix}:claims:{owner}"

    def idempotency(self, tenant: str, key: str) -> str:
        """The job id an ``Idempotency-Key`` of a tenant made (each tenant has its own keys)."""
        return f"{self.prefix}:idem:{tenant}:{key}"

    def queue_workers(self, queue: str) -> str:
        """Sorted set of the workers consuming a Celery queue, by when each last said so
        (see :mod:`core.backlog`)."""
        return f"{self.prefix}:workers:{queue}"

    @property
    def done_channel(self) -> str:
        """Pub/sub channel on which every finished job's id is published."""
        return f"{self.prefix}:done"

    # --- batch jobs ----------------------------------------------------------------------
    def batch_plan(self, job_id: str) -> str:
        return f"{self.prefix}:batch:{job_id}:plan"

    def batch_rows(self, job_id: str) -> str:
        """Hash: rows written so far per part."""
        return f"{self.prefix}:batch:{job_id}:rows"

    @property
    def batch_prefix(self) -> str:
        """What a batch job's id is appended to for its bookkeeping keys (scripts build them)."""
        return f"{self.prefix}:batch:"

    def batch_parts(self, job_id: str) -> str:
        """Hash: per part, its owner task (``<part>:owner``), its attempts (``<part>:attempts``)
        and its last failure (``<part>:error``)."""
        return f"{self.batch_prefix}{job_id}{BATCH_PARTS_SUFFIX}"

    def batch_done(self, job_id: str) -> str:
        """Set of the parts scored."""
        return f"{self.prefix}:batch:{job_id}:done"

    @property
    def batch_sweep(self) -> str:
        """Set while the expired-files sweep has run recently."""
        return f"{self.prefix}:batch:sweep"

    # --- the prediction log --------------------------------------------------------------
    @property
    def prediction_log(self) -> str:
        """Stream of logged predictions (see :mod:`core.prediction_log`)."""
        return f"{self.prefix}:predlog"

    @property
    def prediction_log_rows(self) -> str:
        """Number of predictions in the prediction log (its entries hold several)."""
        return f"{self.prefix}:predlog:rows"

    # --- feedback ------------------------------------------------------------------------
    @property
    def feedback_cursor(self) -> str:
        """Stream id of the last log entry the prediction index has read."""
        return f"{self.prefix}:fb:cursor"

    @property
    def feedback_versions(self) -> str:
        """Set of model versions that have received feedback."""
        return f"{self.prefix}:fb:versions"

    @property
    def feedback_index_prefix(self) -> str:
        """What a UTC day number is appended to for that day's prediction index (a hash)."""
        return f"{self.prefix}:fb:idx:"

    @property
    def feedback_label_prefix(self) -> str:
        """What a UTC day number is appended to for that day's recorded labels (a hash)."""
        return f"{self.prefix}:fb:label:"

    @property
    def feedback_outcomes_prefix(self) -> str:
        """What a model version is appended to for its labelled outcomes (a capped list)."""
        return f"{self.prefix}:fb:outcomes:"

    def feedback_outcomes(self, version: str) -> str:
        return f"{self.feedback_outcomes_prefix}{version}"

    # --- monitoring results --------------------------------------------------------------
    def drift_check(self, version: str) -> str:
        """The version's last scheduled drift check (JSON)."""
        return f"{self.prefix}:drift:last:{version}"

    def accuracy(self, version: str) -> str:
        """The version's last measured accuracy (JSON)."""
        return f"{self.prefix}:accuracy:last:{version}"

    def monitoring_history(self, version: str) -> str:
        """The version's monitoring points (JSON: drift checks, measured accuracy), newest
        first, capped (see :mod:`core.monitoring_records`)."""
        return f"{self.prefix}:monitoring:history:{version}"

    @property
    def monitoring_window(self) -> str:
        """The newest logged predictions as columns (a binary blob)."""
        return f"{self.prefix}:monitoring:window"

    # --- the deployment (traffic policy) ------------------------------------------------
    @property
    def deployment(self) -> str:
        """The traffic policy (JSON, see :mod:`core.deployment`): default, canary, shadow."""
        return f"{self.prefix}:deployment"

    @property
    def deployment_history(self) -> str:
        """List of the policy's changes (JSON audit entries), newest first, capped."""
        return f"{self.prefix}:deployment:history"

    def guard_counts(self, revision: int) -> str:
        """Hash: the canary's finished predictions (``predictions``) and failed ones
        (``failed``) under the policy's ``revision`` (the guard judges these)."""
        return f"{self.prefix}:deployment:guard:{revision}"

    def shadow_done(self, task_id: str) -> str:
        """Set once a shadow task's predictions are logged (a redelivery logs nothing)."""
        return f"{self.prefix}:shadow:done:{task_id}"

    # --- rate limits ---------------------------------------------------------------------
    def rate_limit(self, key_id: str) -> str:
        """An API key's token bucket: when its bucket is next full (microseconds, Redis time)."""
        return f"{self.prefix}:ratelimit:{key_id}"

    # --- API keys ------------------------------------------------------------------------
    def api_key(self, digest: str) -> str:
        """An API key's record (a hash), by the sha256 of its secret: the secret is never stored."""
        return f"{self.prefix}:apikey:{digest}"

    @property
    def api_key_ids(self) -> str:
        """Hash: key id -> the sha256 of its secret (to list and revoke keys by id)."""
        return f"{self.prefix}:apikeys"

    # --- tenants -------------------------------------------------------------------------
    @property
    def tenant_prefix(self) -> str:
        """What a tenant's name is appended to for its keys; scripts build keys with it."""
        return f"{self.prefix}:tenant:"

    def tenant_recent_jobs(self, tenant: str) -> str:
        """Sorted set of a tenant's job ids by creation time."""
        return f"{self.tenant_prefix}{tenant}:recent"

    def tenant_webhook_secret(self, tenant: str) -> str:
        """The secret a tenant's webhook deliveries are signed with (``whsec_`` + base64)."""
        return f"{self.tenant_prefix}{tenant}:webhook-secret"

    @property
    def tenant_quota_suffixes(self) -> list[str]:
        """What follows ``tenant_prefix`` and the tenant's name in each of its quota keys."""
        return [f":{part}" for part in TENANT_QUOTA_PARTS]

    def tenant_quota(self, tenant: str) -> list[str]:
        """A tenant's quota keys, in the order of ``TENANT_QUOTA_PARTS``."""
        return [f"{self.tenant_prefix}{tenant}{s}" for s in self.tenant_quota_suffixes]
