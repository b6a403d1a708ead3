"""Jobs as records: their types, states, claim outcomes, and the record read from Redis.

A job record is a Redis hash (``Keys.job``) written before its task is published,
so an id the client holds is never an eternal "pending". Its fields are strings;
the result and the inputs stay the stored JSON until someone asks for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

import msgspec

from core.prediction_log import LogRecord
from core.timestamps import iso

_encoder = msgspec.json.Encoder()  # several times faster than json for the large results
_decoder = msgspec.json.Decoder()


def encode(value: Any) -> bytes:
    return _encoder.encode(value)


def decode(raw: str | bytes) -> Any:
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
    COMPARISON_REPORT = "comparison_report"


class ClaimOutcome(StrEnum):
    CLAIMED = "claimed"  # the caller now runs the job
    BUSY = "busy"  # another live worker runs it
    TERMINAL = "terminal"  # it has finished (or was cancelled): nothing to do
    MISSING = "missing"  # expired or never existed
    POISON = "poison"  # taken LIFEBOAT_MAX_ATTEMPTS times without finishing: fail it


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
    routing: str | None = None  # why it has its version: default, canary or pinned
    progress_done: int = 0
    progress_total: int = 0
    result_json: bytes | None = None  # the result as stored: decoded only when asked for
    error: dict[str, Any] | None = None
    params_json: bytes | None = None  # the inputs as stored (1000 instances): decoded on demand
    input: dict[str, Any] | None = None  # what the resource shows of the inputs (kept at finish)
    owner: str | None = None  # the worker task that claimed it
    node: str | None = None  # the worker (Celery node name) that claimed it last: its host
    fingerprint: str | None = None
    tenant: str | None = None  # the tenant of the API key that made it
    attempts: int = 0  # times a worker has taken it (claims, redeliveries included)
    last_error: str | None = None  # why its last attempt ended without finishing it
    callback_url: str | None = None  # where its webhook goes once it has finished
    # its webhook's deliveries (core.webhooks.attempts writes these fields)
    webhook_attempts: int = 0
    webhook_last_status: int | None = None  # HTTP status of the last attempt (None: no answer)
    webhook_delivered_at: float | None = None

    @property
    def webhook(self) -> dict[str, Any] | None:
        """What the job resource shows of its webhook (None: it has no callback URL)."""
        if not self.callback_url:
            return None
        return {
            "url": self.callback_url,
            "attempts": self.webhook_attempts,
            "last_status": self.webhook_last_status,
            "delivered_at": iso(self.webhook_delivered_at),
        }

    @property
    def result(self) -> Any:
        return decode(self.result_json) if self.result_json else None

    @cached_property
    def params(self) -> dict[str, Any]:
        return decode(self.params_json) if self.params_json else {}

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> Job:
        result_json = raw.pop(b"result", None)
        params_json = raw.pop(b"params", None)
        return cls._from_fields(
            {k.decode(): v.decode() for k, v in raw.items()}, result_json, params_json
        )

    @staticmethod
    def done_message_job_id(data: bytes) -> str:
        """The job id of a done-channel message (cheap: every web process reads them all)."""
        return data.partition(b" ")[0].decode()

    @classmethod
    def from_done_message(cls, data: bytes) -> tuple[str, Job | None]:
        """The job id of a done-channel message (``job_finish.lua``), and the finished
        record it carries when the job's result is inline (else None: read the job)."""
        job_id, _, record = data.partition(b" ")
        if not record:
            return job_id.decode(), None
        fields = msgspec.json.decode(record, type=list[str])
        h = dict(zip(fields[::2], fields[1::2], strict=True))
        result, params = h.pop("result", None), h.pop("params", None)
        return job_id.decode(), cls._from_fields(
            h, result.encode() if result else None, params.encode() if params else None
        )

    @classmethod
    def _from_fields(
        cls, h: dict[str, str], result_json: bytes | None, params_json: bytes | None
    ) -> Job:

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
            routing=h.get("routing") or None,
            progress_done=int(h.get("progress_done") or 0),
            progress_total=int(h.get("progress_total") or 0),
            result_json=result_json or None,
            error=decode(h["error"]) if h.get("error") else None,
            params_json=params_json or None,
            input=decode(h["input"]) if h.get("input") else None,
            owner=h.get("owner") or None,
            node=h.get("node") or None,
            fingerprint=h.get("fingerprint") or None,
            tenant=h.get("tenant") or None,
            attempts=int(h.get("attempts") or 0),
            last_error=h.get("last_error") or None,
            callback_url=h.get("callback_url") or None,
            webhook_attempts=int(h.get("webhook_attempts") or 0),
            webhook_last_status=int(num("webhook_last_status") or 0) or None,
            webhook_delivered_at=num("webhook_delivered_at"),
        )


@dataclass(frozen=True)
class Outcome:
    """How a job ended, as a worker reports it; its log records join the log with it."""

    job_id: str
    status: JobStatus
    result: Any = None
    error: dict[str, Any] | None = None
    log_records: list[LogRecord] = field(default_factory=list)
    stored_bytes: int = 0  # bytes of the files it leaves (a batch's results), for its tenant
