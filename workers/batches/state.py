"""A batch job's bookkeeping in Redis, beside its job record and with its TTL.

The plan (byte ranges or row-group runs, written once so a redelivered task
finds the same one), the rows each part has written (progress is their sum, so
a restarted part never counts twice) and the set of finished parts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.jobs import JobType
from workers.runtime import Runtime

# KEYS[1] job, KEYS[2] rows per part; ARGV: part ("" to set only the total), rows, total, ttl.
# Progress moves only while the job runs; returns the job's status.
_PROGRESS = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'running' then return status or 'missing' end
if ARGV[1] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('EXPIRE', KEYS[2], ARGV[4])
end
local done = 0
for _, v in ipairs(redis.call('HVALS', KEYS[2])) do done = done + tonumber(v) end
local total = tonumber(ARGV[3])
if total < done then total = done end
redis.call('HSET', KEYS[1], 'progress_done', done, 'progress_total', total)
return status
"""

# KEYS[1] set of finished parts; ARGV: part, number of parts, ttl.  1 when every part is done.
_PART_DONE = """
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 1 end
return 0
"""


class Stop(Exception):
    """The job is no longer running (cancelled, or finished elsewhere): stop this part."""


class BatchFailed(Exception):
    """The batch cannot succeed; ``error`` is what the job reports."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["detail"])
        self.error = error


@dataclass(frozen=True)
class Plan:
    parts: list[tuple[int, int, int]]  # (start, end, lines before) per part
    lines: int

    def to_json(self) -> str:
        return json.dumps({"parts": self.parts, "lines": self.lines})

    @classmethod
    def from_json(cls, raw: bytes | str) -> Plan:
        data = json.loads(raw)
        return cls([tuple(p) for p in data["parts"]], int(data["lines"]))


class BatchState:
    """A batch job's bookkeeping in Redis, beside its job record (same TTL)."""

    def __init__(self, rt: Runtime, job_id: str) -> None:
        self.rt = rt
        self.job_id = job_id
        self.plan_key = rt.keys.batch_plan(job_id)
        self.rows_key = rt.keys.batch_rows(job_id)
        self.done_key = rt.keys.batch_done(job_id)
        self.ttl = rt.settings.job_ttl(JobType.BATCH)

    def plan(self) -> Plan | None:
        raw = self.rt.redis.get(self.plan_key)
        return Plan.from_json(raw) if raw else None

    def save_plan(self, plan: Plan) -> Plan:
        """Store the plan unless one exists; returns the one stored."""
        self.rt.redis.set(self.plan_key, plan.to_json(), nx=True, ex=self.ttl)
        stored = self.plan()
        assert stored is not None
        return stored

    def progress(self, part: int | None, rows: int, total: int) -> str:
        script = self.rt.redis.register_script(_PROGRESS)
        got = script(
            keys=[self.rt.store.key(self.job_id), self.rows_key],
            args=["" if part is None else part, rows, total, self.ttl],
        )
        return got.decode() if isinstance(got, bytes) else str(got)

    def part_done(self, part: int, n_parts: int) -> bool:
        script = self.rt.redis.register_script(_PART_DONE)
        return bool(script(keys=[self.done_key], args=[part, n_parts, self.ttl]))

    def done_parts(self) -> set[int]:
        return {int(m) for m in self.rt.redis.smembers(self.done_key)}

    def forget(self) -> None:
        self.rt.redis.delete(self.plan_key, self.rows_key, self.done_key)
