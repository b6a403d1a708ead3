"""The web's side of the job store: creating and cancelling jobs (listing: ``listing``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.apikeys import Tenancy
from core.errors import JobConflict, QuotaExceeded, StorageQuotaExceeded
from core.jobs.base import StoreBase, guard
from core.jobs.model import Job, JobStatus, JobType, encode
from core.jobs.resource import stored_input

if TYPE_CHECKING:
    from redis.commands.core import Script

    from core.broker import Command

UNLIMITED = Tenancy(2**62, 2**62, 2**62)  # a job of no tenant (tests of the store itself)
CREATED = b"created"  # the first word of job_create.lua's reply when it wrote the record
_CREATED_WORDS = (CREATED, CREATED.decode())  # bytes, or str from a decoding client


@dataclass(frozen=True)
class Creation:
    """A queued job record ready for ``job_create.lua``: the script, its keys and its
    arguments (no message), and the record as it will read once written. Made by
    :meth:`Submissions.creation`; run alone by :meth:`Submissions.write`, or by a caller
    with others in one pipeline (:meth:`command`); its reply read by
    :meth:`Submissions.outcome`."""

    job_id: str
    script: Script
    keys: list[str]
    args: list[Any]
    record: Job

    @property
    def record_key(self) -> str:
        """The Redis key of the job's record (the script's first key)."""
        return self.keys[0]

    def command(self) -> tuple[Any, ...]:
        """The script's call as one pipelined command (``EVALSHA``, so Redis must hold the
        script: a ``NoScriptError`` reply asks the caller to load :attr:`script` first)."""
        return ("EVALSHA", self.script.sha, len(self.keys), *self.keys, *self.args)


def written(reply: list[Any]) -> bool:
    """Whether a reply of ``job_create.lua`` says it wrote the record."""
    return bool(reply) and reply[0] in _CREATED_WORDS


def new_job_id() -> str:
    return str(uuid.uuid4())


class Submissions(StoreBase):
    """Job records as the API creates and cancels them."""

    def create(self, job_type: JobType, **kwargs: Any) -> tuple[str, bool]:
        """Write a queued job record of a tenant; returns (job id, created): see
        :meth:`create_job`."""
        job_id, record = self.create_job(job_type, **kwargs)
        return job_id, record is not None

    def create_job(
        self, job_type: JobType, *, message: Sequence[Command] = (), **kwargs: Any
    ) -> tuple[str, Job | None]:
        """Write a queued job record of a tenant; returns its id and the record as written
        (a POST without ``wait`` answers with it: no read back, and always ``202``).

        With an idempotency key the tenant already used within the TTL, nothing is
        written and the earlier job's id comes back with no record. The job takes
        its share of the tenant's quotas (``stored_bytes``: its upload) in the same
        script: over a quota, nothing is written and :class:`QuotaExceeded` (429) or
        :class:`StorageQuotaExceeded` (413) names the limit. ``message``: the job's task
        message as Redis commands (:meth:`core.task_messages.TaskMessages.commands`),
        queued by the same script once the record is written (one round trip for both),
        and only if it is. The other arguments are :meth:`creation`'s.
        """
        creation = self.creation(job_type, **kwargs)
        return self.outcome(creation, self.write(creation, message))

    def creation(
        self,
        job_type: JobType,
        *,
        params: dict[str, Any],
        model_version: str | None,
        total: int,
        routing: str | None = None,
        idempotency_key: str | None = None,
        fingerprint: str | None = None,
        tenant: str | None = None,
        tenancy: Tenancy = UNLIMITED,
        stored_bytes: int = 0,
        callback_url: str | None = None,
        job_id: str | None = None,
    ) -> Creation:
        """A job record ready to be written, nothing sent yet. ``job_id``: the id to give
        it (from :func:`new_job_id`; a caller that waits for the job registers it first)."""
        job_id = job_id or new_job_id()
        now = time.time()
        fields = {
            "id": job_id,
            "type": job_type.value,
            "status": JobStatus.QUEUED.value,
            "created_at": repr(now),
            "model_version": model_version or "",
            "routing": routing or "",
            "progress_done": "0",
            "progress_total": str(total),
            "params": encode(params),
            "fingerprint": fingerprint or "",
            "tenant": tenant or "",
            "callback_url": callback_url or "",
        }
        kept = stored_input(job_type, params)
        if kept is not None:  # a prediction's record stays as lean as before
            fields["input"] = encode(kept)
        args: list[Any] = [
            self.ttl,
            repr(now),
            job_id,
            "1" if job_type is JobType.BATCH else "0",
            stored_bytes,
            tenancy.max_active_jobs,
            tenancy.max_active_batches,
            tenancy.max_stored_bytes,
            self.index_ttl,
            self.queued_lease,
            2 * len(fields),
        ]
        for name, value in fields.items():
            args += [name, value]
        pending = self.pending_key if job_type is JobType.PREDICTION else ""
        idem = self.keys.idempotency(tenant or "", idempotency_key) if idempotency_key else ""
        tenant_keys = (
            [self.keys.tenant_recent_jobs(tenant), *self.keys.tenant_quota(tenant)]
            if tenant
            else ["", "", "", "", ""]
        )
        keys = [self.key(job_id), self.keys.recent_jobs, idem, pending, *tenant_keys]
        # the record as written, made directly (reading back the encoded fields cost a POST
        # ~40 µs): what Job.from_hash gives for these fields, empty strings as None
        record = Job(
            id=job_id,
            type=job_type,
            status=JobStatus.QUEUED,
            created_at=now,
            model_version=model_version or None,
            routing=routing or None,
            progress_total=total,
            params_json=fields["params"] or None,
            fingerprint=fingerprint or None,
            tenant=tenant or None,
            callback_url=callback_url or None,
        )
        return Creation(job_id, self.script("job_create"), [*keys, self.leases_key], args, record)

    def write(self, creation: Creation, message: Sequence[Command] = ()) -> list[Any]:
        """Run ``job_create.lua`` for ``creation`` (and ``message`` after the record, only
        if it is written); the script's reply, for :meth:`outcome`."""
        args = list(creation.args)
        for command in message:
            args += command
        return guard(creation.script, keys=creation.keys, args=args)

    def outcome(self, creation: Creation, reply: list[Any]) -> tuple[str, Job | None]:
        """``(job id, record)`` from ``job_create.lua``'s reply: the earlier job's id and no
        record for a replayed idempotency key; a refused quota raises (429 or 413)."""
        outcome, *rest = [g.decode() if isinstance(g, bytes) else g for g in reply]
        if outcome == "quota":
            tenant = creation.record.tenant or ""
            raise _quota_error(tenant, str(rest[0]), int(rest[1]), int(rest[2]))
        if not written(reply):
            return str(rest[0]), None
        return creation.job_id, creation.record

    def discard(self, job_id: str, idempotency_key: str | None = None) -> None:
        """Remove a job whose task could not be published (no half-made job is left, no
        quota share is kept)."""
        tenant = guard(self.redis.hget, self.key(job_id), "tenant")
        idem = (
            self.keys.idempotency((tenant or b"").decode(), idempotency_key)
            if idempotency_key
            else ""
        )
        guard(
            self.script("job_discard"),
            keys=[
                self.key(job_id),
                self.keys.recent_jobs,
                self.pending_key,
                idem,
                self.leases_key,
            ],
            args=[job_id, repr(time.time()), *self.quota_args()],
        )

    def usage(self, tenant: str) -> dict[str, int]:
        """What a tenant's quotas hold now: active jobs, active batches, stored bytes."""
        jobs, batches, _, stored = self.keys.tenant_quota(tenant)
        now = time.time()
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcount(jobs, f"({now}", "+inf")
        pipe.zcount(batches, f"({now}", "+inf")
        pipe.hget(stored, "#total")
        n_jobs, n_batches, n_bytes = guard(pipe.execute)
        return {
            "active_jobs": int(n_jobs),
            "active_batches": int(n_batches),
            "stored_bytes": int(n_bytes or 0),
        }

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job; 409 if it has finished."""
        ok = guard(
            self.script("job_finish"),
            keys=[
                self.key(job_id),
                self.done_channel,
                self.keys.prediction_log,
                self.keys.prediction_log_rows,
                self.leases_key,
                "",
            ],
            args=[
                JobStatus.CANCELLED.value,
                repr(time.time()),
                "",
                encode({"type": "Cancelled", "detail": "cancelled by a client"}),
                self.ttl,
                self.log_maxlen,
                job_id,
                0,
                *self.quota_args(),
            ],
        )
        self.announce([job_id], [ok])
        job = self.get(job_id)
        if not ok and job.status is not JobStatus.CANCELLED:
            raise JobConflict(f"job {job_id} has already finished ({job.status.value})")
        if not ok:
            raise JobConflict(f"job {job_id} was already cancelled")
        return job


def _quota_error(tenant: str, limit: str, allowed: int, used: int) -> QuotaExceeded:
    """429 (413 for bytes) naming the limit; the problem's ``errors`` say it too."""
    what = {
        "active_jobs": f"{used} queued or running jobs",
        "active_batches": f"{used} batch jobs queued or running",
        "stored_bytes": f"{used} bytes stored and this upload does not fit",
    }[limit]
    error = StorageQuotaExceeded if limit == "stored_bytes" else QuotaExceeded
    return error(
        f"tenant {tenant!r} has {what}; its quota {limit} is {allowed}",
        errors=[{"loc": ["quota", limit], "msg": f"limit {allowed} reached"}],
    )
