"""The job store: job records in Redis, their legal transitions, and completion events.

A job record is a Redis hash ``{prefix}:job:{id}`` written before its task is
published, so an id the client holds is never an eternal "pending". Every
transition runs in a Lua script, so it is atomic and checked: a finished job
never goes back to ``running``, whatever Celery redelivers, and a job finishes
once. A terminal transition publishes the job id on ``{prefix}:done`` (long-polls
wait on it) and, for prediction jobs, appends the predictions to the prediction
log in the same script (so the log holds each prediction exactly once).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from typing import Any

import msgspec
import redis

from core.errors import BrokerUnavailable, JobConflict, JobNotFound

_encoder = msgspec.json.Encoder()  # several times faster than json for the large results
_decoder = msgspec.json.Decoder()


def _encode(value: Any) -> bytes:
    return _encoder.encode(value)


def _decode(raw: str | bytes) -> Any:
    return _decoder.decode(raw)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED})


class JobType(StrEnum):
    PREDICTION = "prediction"
    BATCH = "batch"
    DRIFT_REPORT = "drift_report"
    PERFORMANCE_REPORT = "performance_report"


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"  # the caller now runs the job
    BUSY = "busy"  # another live worker runs it
    TERMINAL = "terminal"  # it has finished (or was cancelled): nothing to do
    MISSING = "missing"  # expired or never existed


def iso(ts: float | None) -> str | None:
    """Epoch seconds → ISO 8601 UTC with milliseconds (``2026-11-26T10:00:00.000Z``)."""
    if ts is None:
        return None
    return (
        datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{int(ts * 1000) % 1000:03d}Z"
    )


@dataclass(frozen=True)
class Job:
    """A job record as read from Redis."""

    id: str
    type: JobType
    status: JobStatus
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    model_version: str | None = None
    progress_done: int = 0
    progress_total: int = 0
    result_json: bytes | None = None  # the result as stored: decoded only when asked for
    error: dict[str, Any] | None = None
    params_json: bytes | None = None  # the inputs as stored (1000 instances): decoded on demand
    owner: str | None = None
    fingerprint: str | None = None

    @property
    def result(self) -> Any:
        return _decode(self.result_json) if self.result_json else None

    @cached_property
    def params(self) -> dict[str, Any]:
        return _decode(self.params_json) if self.params_json else {}

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> Job:
        result_json = raw.pop(b"result", None)
        params_json = raw.pop(b"params", None)
        h = {k.decode(): v.decode() for k, v in raw.items()}

        def num(name: str) -> float | None:
            return float(h[name]) if h.get(name) else None

        return cls(
            id=h["id"],
            type=JobType(h["type"]),
            status=JobStatus(h["status"]),
            created_at=float(h["created_at"]),
            started_at=num("started_at"),
            finished_at=num("finished_at"),
            model_version=h.get("model_version") or None,
            progress_done=int(h.get("progress_done") or 0),
            progress_total=int(h.get("progress_total") or 0),
            result_json=result_json or None,
            error=_decode(h["error"]) if h.get("error") else None,
            params_json=params_json or None,
            owner=h.get("owner") or None,
            fingerprint=h.get("fingerprint") or None,
        )

    def to_resource(self, base_path: str = "/api/v1", *, raw: bool = False) -> dict[str, Any]:
        """The job as ``GET /api/v1/jobs/{id}`` shows it.

        With ``raw``, the result stays the stored JSON (``msgspec.Raw``), spliced into the
        response as is: a 1000-prediction result is neither decoded nor encoded again.
        """
        if raw:
            result: Any = msgspec.Raw(self.result_json) if self.result_json else None
        else:
            result = self.result
        return {
            "id": self.id,
            "type": self.type.value,
            "status": self.status.value,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "model_version": self.model_version,
            "progress": {"done": self.progress_done, "total": self.progress_total},
            "result": result,
            "error": self.error,
            "links": {"self": f"{base_path}/jobs/{self.id}"},
        }


# KEYS[1] job, KEYS[2] recent zset, KEYS[3] idempotency key ("" if none),
# KEYS[4] pending list ("" if none)
# ARGV: ttl, created_at, job id, then field/value pairs
_CREATE = """
if KEYS[3] ~= '' then
  local existing = redis.call('GET', KEYS[3])
  if existing then return existing end
  redis.call('SET', KEYS[3], ARGV[3], 'EX', ARGV[1])
end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[1]))
if KEYS[4] ~= '' then
  redis.call('RPUSH', KEYS[4], ARGV[3])
  redis.call('EXPIRE', KEYS[4], ARGV[1])
end
return ARGV[3]
"""

# KEYS[1] job; ARGV: owner, now, lease
_CLAIM = """
local st = redis.call('HMGET', KEYS[1], 'status', 'owner', 'claimed_at')
if not st[1] then return 'missing' end
local status, owner, claimed = st[1], st[2], tonumber(st[3] or '0')
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return 'terminal' end
if status == 'running' and owner ~= ARGV[1] and claimed + tonumber(ARGV[3]) > tonumber(ARGV[2]) then
  return 'busy'
end
if status == 'queued' then redis.call('HSET', KEYS[1], 'started_at', ARGV[2]) end
redis.call('HSET', KEYS[1], 'status', 'running', 'owner', ARGV[1], 'claimed_at', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
return 'claimed'
"""

# KEYS[1] pending list, KEYS[2] claims set of this owner
# ARGV: owner, now, lease, max_jobs, max_rows, job key prefix, ttl, then the task's own job ids.
# Claims (1) the task's own jobs (again, if this is a redelivery), (2) jobs this owner claimed
# before its process died, (3) queued neighbours from the pending list, within the limits.
# Every claimed id is recorded under the owner, so a redelivered task finds them all.
_CLAIM_BATCH = """
local owner, now, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local max_jobs, max_rows, prefix = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local taken, seen, n, rows = {}, {}, 0, 0
local function take(id, total)
  redis.call('HSET', prefix .. id, 'status', 'running', 'owner', owner, 'claimed_at', ARGV[2])
  redis.call('HINCRBY', prefix .. id, 'attempts', 1)
  redis.call('SADD', KEYS[2], id)
  n = n + 1
  taken[n] = id
  seen[id] = true
  rows = rows + tonumber(total or '0')
end
for i = 8, #ARGV do
  local id = ARGV[i]
  local st = redis.call('HMGET', prefix .. id, 'status', 'owner', 'claimed_at', 'progress_total')
  if not seen[id] and st[1] == 'queued' then
    redis.call('HSET', prefix .. id, 'started_at', ARGV[2])
    take(id, st[4])
  elseif not seen[id] and st[1] == 'running'
      and (st[2] == owner or tonumber(st[3] or '0') + lease <= now) then
    take(id, st[4])
  end
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if not seen[id] then
    local st = redis.call('HMGET', prefix .. id, 'status', 'owner', 'progress_total')
    if st[1] == 'running' and st[2] == owner then take(id, st[3]) end
  end
end
while n < max_jobs and rows < max_rows do
  local id = redis.call('LPOP', KEYS[1])
  if not id then break end
  local st = redis.call('HMGET', prefix .. id, 'status', 'progress_total')
  if st[1] == 'queued' and not seen[id] then
    if n > 0 and rows + tonumber(st[2] or '0') > max_rows then
      redis.call('LPUSH', KEYS[1], id)
      break
    end
    redis.call('HSET', prefix .. id, 'started_at', ARGV[2])
    take(id, st[2])
  end
end
if n > 0 then redis.call('EXPIRE', KEYS[2], ARGV[7]) end
return taken
"""

# KEYS[1] job, KEYS[2] done channel, KEYS[3] prediction log ("" if none)
# ARGV: status, now, result json ("" none), error json ("" none), ttl, log maxlen, job id, then log
# entries as JSON strings, appended and then trimmed once (to about log maxlen: one XTRIM is
# cheaper than a MAXLEN on each of 1000 XADDs). Only a job that has not finished can finish.
_FINISH = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return 0 end
if status == 'succeeded' or status == 'failed' or status == 'cancelled' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finished_at', ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'result', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[4]) end
if ARGV[1] == 'succeeded' then
  local total = redis.call('HGET', KEYS[1], 'progress_total')
  redis.call('HSET', KEYS[1], 'progress_done', total or '0')
end
redis.call('HDEL', KEYS[1], 'params')
redis.call('EXPIRE', KEYS[1], ARGV[5])
for i = 8, #ARGV do
  redis.call('XADD', KEYS[3], '*', 'entry', ARGV[i])
end
if #ARGV >= 8 then redis.call('XTRIM', KEYS[3], 'MAXLEN', '~', ARGV[6]) end
redis.call('PUBLISH', KEYS[2], ARGV[7])
return 1
"""

# KEYS[1] job; ARGV: done, total — progress only moves while the job runs
_PROGRESS = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'progress_done', ARGV[1], 'progress_total', ARGV[2])
return 1
"""


class JobStore:
    """Job records, transitions and completion events in Redis."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        prefix: str = "lifeboat",
        ttl: int = 86_400,
        log_maxlen: int = 100_000,
    ) -> None:
        self.redis = client
        self.prefix = prefix
        self.ttl = ttl
        self.log_maxlen = log_maxlen
        self.done_channel = f"{prefix}:done"
        self.prediction_log = f"{prefix}:predlog"
        self.pending_key = f"{prefix}:pending:{JobType.PREDICTION.value}"
        self._recent = f"{prefix}:jobs:recent"
        self._create = client.register_script(_CREATE)
        self._claim = client.register_script(_CLAIM)
        self._claim_batch = client.register_script(_CLAIM_BATCH)
        self._finish = client.register_script(_FINISH)
        self._progress = client.register_script(_PROGRESS)

    # keys -------------------------------------------------------------------------------
    def key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def claims_key(self, owner: str) -> str:
        return f"{self.prefix}:claims:{owner}"

    def idempotency_key(self, key: str) -> str:
        return f"{self.prefix}:idem:{key}"

    # web side ---------------------------------------------------------------------------
    def create(
        self,
        job_type: JobType,
        *,
        params: dict[str, Any],
        model_version: str | None,
        total: int,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
    ) -> tuple[str, bool]:
        """Write a queued job record; returns (job id, created).

        With an idempotency key already used within the TTL, nothing is written and
        the earlier job's id comes back with ``created=False``.
        """
        job_id = str(uuid.uuid4())
        now = time.time()
        fields = {
            "id": job_id,
            "type": job_type.value,
            "status": JobStatus.QUEUED.value,
            "created_at": repr(now),
            "model_version": model_version or "",
            "progress_done": "0",
            "progress_total": str(total),
            "params": _encode(params),
            "fingerprint": fingerprint or "",
        }
        args: list[Any] = [self.ttl, repr(now), job_id]
        for name, value in fields.items():
            args += [name, value]
        pending = self.pending_key if job_type is JobType.PREDICTION else ""
        idem = self.idempotency_key(idempotency_key) if idempotency_key else ""
        got = self._guard(
            self._create, keys=[self.key(job_id), self._recent, idem, pending], args=args
        )
        got_id = got.decode() if isinstance(got, bytes) else str(got)
        return got_id, got_id == job_id

    def discard(self, job_id: str, idempotency_key: str | None = None) -> None:
        """Remove a job whose task could not be published (no half-made job is left)."""
        keys = [self.key(job_id)]
        if idempotency_key:
            keys.append(self.idempotency_key(idempotency_key))
        pipe = self.redis.pipeline()
        pipe.delete(*keys)
        pipe.zrem(self._recent, job_id)
        pipe.lrem(self.pending_key, 0, job_id)
        pipe.execute()

    def get(self, job_id: str) -> Job:
        raw = self._guard(self.redis.hgetall, self.key(job_id))
        if not raw:
            raise JobNotFound(f"no job with id {job_id!r} (unknown, or expired)")
        return Job.from_hash(raw)

    def recent(
        self,
        *,
        limit: int,
        job_type: JobType | None = None,
        status: JobStatus | None = None,
        window: int = 2_000,
    ) -> list[Job]:
        """Most recent jobs first, filtered, among the last ``window`` jobs created."""
        ids = self._guard(self.redis.zrevrange, self._recent, 0, window - 1)
        jobs: list[Job] = []
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(self.key(job_id.decode()))
        for raw in self._guard(pipe.execute) if ids else []:
            if not raw:
                continue
            job = Job.from_hash(raw)
            if (job_type and job.type != job_type) or (status and job.status != status):
                continue
            jobs.append(job)
            if len(jobs) >= limit:
                break
        return jobs

    def unfinished(self, job_type: JobType, *, window: int) -> list[tuple[str, JobStatus, float]]:
        """(id, status, started or created time) of the unfinished jobs among the last ``window``.

        Reads four fields per job, not the whole record (results can be large).
        """
        ids = self._guard(self.redis.zrevrange, self._recent, 0, window - 1)
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.hmget(self.key(job_id.decode()), "type", "status", "created_at", "started_at")
        out = []
        for job_id, (kind, status, created, started) in zip(
            ids, self._guard(pipe.execute), strict=True
        ):
            if kind is None or kind.decode() != job_type.value:
                continue
            state = JobStatus(status.decode())
            if not state.terminal:
                out.append((job_id.decode(), state, float(started or created)))
        return out

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job; 409 if it has finished."""
        ok = self._guard(
            self._finish,
            keys=[self.key(job_id), self.done_channel, ""],
            args=[
                JobStatus.CANCELLED.value,
                repr(time.time()),
                "",
                _encode({"type": "Cancelled", "detail": "cancelled by a client"}),
                self.ttl,
                self.log_maxlen,
                job_id,
            ],
        )
        job = self.get(job_id)
        if not ok and job.status is not JobStatus.CANCELLED:
            raise JobConflict(f"job {job_id} has already finished ({job.status.value})")
        if not ok:
            raise JobConflict(f"job {job_id} was already cancelled")
        return job

    # worker side ------------------------------------------------------------------------
    def claim(self, job_id: str, owner: str, lease: float) -> ClaimOutcome:
        got = self._claim(keys=[self.key(job_id)], args=[owner, repr(time.time()), lease])
        return ClaimOutcome(got.decode() if isinstance(got, bytes) else got)

    def claim_batch(
        self, owner: str, job_ids: Sequence[str], *, lease: float, max_jobs: int, max_rows: int
    ) -> list[str]:
        """Claim a task's own prediction jobs plus queued neighbours, in one round trip.

        Returns every job id the owner now runs: its own (also on redelivery), those it
        had claimed before its process died, and queued jobs from the pending list up to
        ``max_jobs`` / ``max_rows`` (a job is never split).
        """
        got = self._claim_batch(
            keys=[self.pending_key, self.claims_key(owner)],
            args=[
                owner,
                repr(time.time()),
                lease,
                max_jobs,
                max_rows,
                f"{self.prefix}:job:",
                self.ttl,
                *job_ids,
            ],
        )
        return [g.decode() for g in got]

    def get_many(self, job_ids: Sequence[str]) -> list[Job | None]:
        pipe = self.redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipe.hgetall(self.key(job_id))
        return [Job.from_hash(raw) if raw else None for raw in pipe.execute()]

    def finish_many(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """Finish several jobs in one round trip; True where this call finished the job."""
        pipe = self.redis.pipeline(transaction=False)
        self._queue_finishes(pipe, outcomes)
        return [bool(r) for r in pipe.execute()]

    def _queue_finishes(self, pipe: Any, outcomes: Sequence[Outcome]) -> None:
        now = repr(time.time())
        for o in outcomes:
            log = [_encode(e) for e in o.log_entries]
            self._finish(
                keys=[self.key(o.job_id), self.done_channel, self.prediction_log if log else ""],
                args=[
                    o.status.value,
                    now,
                    _encode(o.result) if o.result is not None else "",
                    _encode(o.error) if o.error is not None else "",
                    self.ttl,
                    self.log_maxlen,
                    o.job_id,
                    *log,
                ],
                client=pipe,
            )

    def finish(self, outcome: Outcome) -> bool:
        return self.finish_many([outcome])[0]

    def finish_batch(self, outcomes: Sequence[Outcome], owner: str) -> tuple[list[bool], int]:
        """Finish a claimed batch and forget the owner's claims in one round trip.

        Returns which jobs this call finished and the prediction log's length.
        """
        pipe = self.redis.pipeline(transaction=False)
        self._queue_finishes(pipe, outcomes)
        pipe.delete(self.claims_key(owner))
        pipe.xlen(self.prediction_log)
        got = pipe.execute()
        return [bool(r) for r in got[: len(outcomes)]], int(got[-1])

    def set_progress(self, job_id: str, done: int, total: int) -> bool:
        return bool(self._progress(keys=[self.key(job_id)], args=[done, total]))

    # helpers ----------------------------------------------------------------------------
    @staticmethod
    def _guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise BrokerUnavailable("Redis cannot be reached; retry later") from exc


@dataclass(frozen=True)
class Outcome:
    """How a job ended, as a worker reports it."""

    job_id: str
    status: JobStatus
    result: Any = None
    error: dict[str, Any] | None = None
    log_entries: list[dict[str, Any]] = field(default_factory=list)
