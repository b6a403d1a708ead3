"""What both sides of the job store share: the connection, key names, scripts, reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import redis
from redis.commands.core import Script

from core import prediction_log, scripts
from core.errors import BrokerUnavailable, JobNotFound
from core.jobs.model import Job, JobType
from core.keys import Keys

DEFAULT_TTL = 86_400  # seconds a job record lives (and a finished one stays readable)
DEFAULT_LOG_MAXLEN = 100_000  # predictions the prediction log keeps
DEFAULT_QUEUED_LEASE = 60.0  # seconds a queued job may wait for a worker before re-publishing
WEBHOOK_DUE = 2  # what job_finish.lua answers for a job it finished that has a callback URL


class StoreBase:
    """A job store's state: the Redis client, its keys, TTL and the log's length."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        keys: Keys | None = None,
        ttl: int = DEFAULT_TTL,
        log_maxlen: int = DEFAULT_LOG_MAXLEN,
        index_ttl: int | None = None,
        queued_lease: float = DEFAULT_QUEUED_LEASE,
        on_webhook: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.redis = client
        self.keys = keys or Keys()
        self.ttl = ttl
        # seconds the recent-jobs indexes keep an entry: as long as the longest-lived job
        # type may live, whatever the type of the job being created (its own TTL may be
        # shorter); an entry that outlives its record is skipped and removed by a listing
        self.index_ttl = max(ttl, index_ttl or 0)
        self.log_maxlen = log_maxlen
        self.queued_lease = queued_lease
        # called with the ids of jobs this store finished that have a callback URL
        self.on_webhook = on_webhook
        self.leases_key = self.keys.leases
        self.done_channel = self.keys.done_channel
        self.pending_key = self.keys.pending(JobType.PREDICTION.value)
        self._scripts: dict[str, Script] = {}

    def key(self, job_id: str) -> str:
        return self.keys.job(job_id)

    def quota_args(self) -> list[str]:
        """The ARGV a script reads a job's tenant's quota keys from (``quota_keys``)."""
        return [self.keys.tenant_prefix, *self.keys.tenant_quota_suffixes]

    def script(self, name: str) -> Script:
        """The registered script ``name`` (``core/scripts/<name>.lua``), registered once."""
        registered = self._scripts.get(name)
        if registered is None:
            text = scripts.source(name)
            if "append_predictions(" in text:  # it logs predictions: the log's append first
                text = prediction_log.APPEND + text
            if "quota_" in text:  # it takes or ends a tenant's quota shares
                text = scripts.source("quota") + text
            registered = self._scripts[name] = self.redis.register_script(text)
        return registered

    def announce(self, job_ids: Sequence[str], answers: Sequence[Any]) -> None:
        """Hand the jobs whose finish answered ``WEBHOOK_DUE`` to ``on_webhook``."""
        due = [j for j, a in zip(job_ids, answers, strict=True) if a == WEBHOOK_DUE]
        if due and self.on_webhook is not None:
            self.on_webhook(due)

    def get(self, job_id: str) -> Job:
        """The job with its result, wherever the result is kept (record or own key)."""
        raw = guard(self.redis.hgetall, self.key(job_id))
        if not raw:
            raise JobNotFound(f"no job with id {job_id!r} (unknown, or expired)")
        if raw.pop(b"result_in_key", None):  # a large result: a second read, only then
            result = guard(self.redis.get, self.keys.job_result(job_id))
            if result is None:  # expired between the two reads, with its record
                raise JobNotFound(f"no job with id {job_id!r} (unknown, or expired)")
            raw[b"result"] = result
        return Job.from_hash(raw)

    def get_many(self, job_ids: Sequence[str]) -> list[Job | None]:
        """The jobs' records (a large result, kept under its own key, is not read)."""
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hgetall(self.key(job_id))
        return [Job.from_hash(raw) if raw else None for raw in pipe.execute()]


def guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``; a lost Redis becomes :class:`BrokerUnavailable` (503)."""
    try:
        return fn(*args, **kwargs)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise BrokerUnavailable("Redis cannot be reached; retry later") from exc
