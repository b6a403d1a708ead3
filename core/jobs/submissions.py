"""The web's side of the job store: creating, listing and cancelling jobs."""

from __future__ import annotations

import time
import uuid
from typing import Any

from core.errors import JobConflict
from core.jobs.base import StoreBase, guard
from core.jobs.model import Job, JobStatus, JobType, encode


class Submissions(StoreBase):
    """Job records as the API creates, lists and cancels them."""

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
            "params": encode(params),
            "fingerprint": fingerprint or "",
        }
        args: list[Any] = [self.ttl, repr(now), job_id]
        for name, value in fields.items():
            args += [name, value]
        pending = self.pending_key if job_type is JobType.PREDICTION else ""
        idem = self.keys.idempotency(idempotency_key) if idempotency_key else ""
        got = guard(
            self.script("job_create"),
            keys=[self.key(job_id), self.keys.recent_jobs, idem, pending],
            args=args,
        )
        got_id = got.decode() if isinstance(got, bytes) else str(got)
        return got_id, got_id == job_id

    def discard(self, job_id: str, idempotency_key: str | None = None) -> None:
        """Remove a job whose task could not be published (no half-made job is left)."""
        keys = [self.key(job_id)]
        if idempotency_key:
            keys.append(self.keys.idempotency(idempotency_key))
        pipe = self.redis.pipeline()
        pipe.delete(*keys)
        pipe.zrem(self.keys.recent_jobs, job_id)
        pipe.lrem(self.pending_key, 0, job_id)
        pipe.execute()

    def recent(
        self,
        *,
        limit: int,
        job_type: JobType | None = None,
        status: JobStatus | None = None,
        window: int = 2_000,
    ) -> list[Job]:
        """Most recent jobs first, filtered, among the last ``window`` jobs created."""
        ids = guard(self.redis.zrevrange, self.keys.recent_jobs, 0, window - 1)
        jobs: list[Job] = []
        pipe = self.redis.pipeline(transaction=False)
        for job_id in ids:
            pipe.hgetall(self.key(job_id.decode()))
        for raw in guard(pipe.execute) if ids else []:
            if not raw:
                continue
            job = Job.from_hash(raw)
            if (job_type and job.type != job_type) or (status and job.status != status):
                continue
            jobs.append(job)
            if len(jobs) >= limit:
                break
        return jobs

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job; 409 if it has finished."""
        ok = guard(
            self.script("job_finish"),
            keys=[
                self.key(job_id),
                self.done_channel,
                self.keys.prediction_log,
                self.keys.prediction_log_rows,
            ],
            args=[
                JobStatus.CANCELLED.value,
                repr(time.time()),
                "",
                encode({"type": "Cancelled", "detail": "cancelled by a client"}),
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
