"""The workers' side of the job store: claiming, progress, finishing.

Every transition is one Lua script, so it is atomic and checked: a finished job
never goes back to ``running``, whatever Celery redelivers, and a job finishes
once. Claiming leases a job (``Keys.leases``) and counts an attempt; finishing
removes its lease, publishes the job id on the done channel (long-polls wait on it),
hands a job with a callback URL to ``on_webhook`` (its delivery task)
and appends the job's predictions to the prediction log in the same script, so
the log holds each prediction exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from redis.exceptions import NoScriptError

from core import prediction_log
from core.jobs.base import StoreBase
from core.jobs.model import ClaimOutcome, Job, Outcome, encode

DEFAULT_MAX_ATTEMPTS = 3  # times a job may be taken before it is poison

# a result larger than this (bytes of JSON: ~50 predictions) is stored under its own key
# with the job's TTL, not in the job record: reading a record's state (long-polls,
# cancels, workers) then never moves it; only reading the job itself does
RESULT_INLINE_BYTES = 8 * 1024


class Transitions(StoreBase):
    """Job records as workers move them through their states."""

    def claim(
        self,
        job_id: str,
        owner: str,
        lease: float,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        node: str = "",
    ) -> ClaimOutcome:
        """Claim one job, leased until now + ``lease``; ``POISON`` once it has been taken
        ``max_attempts`` times (the caller fails it). ``node`` (the worker's name) is kept
        in the record: which host ran it."""
        got = self.script("job_claim")(
            keys=[self.key(job_id), self.leases_key],
            args=[owner, repr(time.time()), lease, max_attempts, job_id, node],
        )
        return ClaimOutcome(got.decode() if isinstance(got, bytes) else got)

    def claim_batch(
        self,
        owner: str,
        job_ids: Sequence[str],
        *,
        lease: float,
        max_jobs: int,
        max_rows: int,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        node: str = "",
    ) -> tuple[list[str], list[str]]:
        """Claim a task's own prediction jobs plus queued neighbours, in one round trip.

        Returns every job id the owner now runs (leased until now + ``lease``): its own
        (also on redelivery), those it had claimed before its process died, and queued
        jobs from the pending list up to ``max_jobs`` / ``max_rows`` (a job is never
        split); and the ids of the jobs among them already taken ``max_attempts`` times,
        not claimed (poison: the caller fails them). Each claimed record keeps ``node``.
        """
        jobs, poisoned = self.claim_jobs(
            owner,
            job_ids,
            lease=lease,
            max_jobs=max_jobs,
            max_rows=max_rows,
            max_attempts=max_attempts,
            node=node,
        )
        return [j.id for j in jobs], poisoned

    def claim_jobs(
        self,
        owner: str,
        job_ids: Sequence[str],
        *,
        lease: float,
        max_jobs: int,
        max_rows: int,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        node: str = "",
    ) -> tuple[list[Job], list[str]]:
        """:meth:`claim_batch` with the claimed jobs' records, read by the same script."""
        _ids, poisoned, records = self.script("job_claim_batch")(
            keys=[self.pending_key, self.keys.claims(owner), self.leases_key],
            args=[
                owner,
                repr(time.time()),
                lease,
                max_jobs,
                max_rows,
                self.keys.job_prefix,
                self.ttl,
                max_attempts,
                node,
                *job_ids,
            ],
        )
        jobs = [Job.from_hash(dict(zip(r[::2], r[1::2], strict=True))) for r in records]
        return jobs, [g.decode() for g in poisoned]

    def set_progress(self, job_id: str, done: int, total: int) -> bool:
        return bool(self.script("job_progress")(keys=[self.key(job_id)], args=[done, total]))

    def finish(self, outcome: Outcome) -> bool:
        return self.finish_many([outcome])[0]

    def finish_many(self, outcomes: Sequence[Outcome]) -> list[bool]:
        """Finish several jobs in one round trip; True where this call finished the job."""
        got = self._finish_in_pipeline(outcomes)
        self.announce([o.job_id for o in outcomes], got)
        return [bool(r) for r in got]

    def finish_batch(self, outcomes: Sequence[Outcome], owner: str) -> tuple[list[bool], int]:
        """Finish a claimed batch and forget the owner's claims in one round trip.

        Returns which jobs this call finished and the predictions in the log.
        """
        got = self._finish_in_pipeline(
            outcomes,
            lambda pipe: pipe.delete(self.keys.claims(owner)).get(self.keys.prediction_log_rows),
        )
        self.announce([o.job_id for o in outcomes], got[: len(outcomes)])
        return [bool(r) for r in got[: len(outcomes)]], int(got[-1] or 0)

    def _finish_in_pipeline(
        self, outcomes: Sequence[Outcome], then: Callable[[Any], Any] | None = None
    ) -> list[Any]:
        """Run the finish script for every outcome (and ``then``'s commands) in one round trip.

        The script is called by its SHA (``EVALSHA``) in the pipeline: redis-py's
        ``Script`` in a pipeline asks ``SCRIPT EXISTS`` before every execute, one more round
        trip per finished batch. A script Redis does not hold (restarted, flushed) answers
        ``NOSCRIPT`` without running, so those finishes (and only those) run again once it
        is loaded, and ``then``'s commands after them: each job still finishes once, and
        its answer says whether this call did.
        """
        finish = self.script("job_finish")
        pipe = self.redis.pipeline(transaction=False)
        self._queue_finishes(pipe, outcomes, finish.sha)
        if then is not None:
            then(pipe)
        got = pipe.execute(raise_on_error=False)
        missing = [i for i, r in enumerate(got[: len(outcomes)]) if isinstance(r, NoScriptError)]
        if missing:  # run again after those, and ``then``'s commands read afresh
            self.redis.script_load(finish.script)
            pipe = self.redis.pipeline(transaction=False)
            self._queue_finishes(pipe, [outcomes[i] for i in missing], finish.sha)
            if then is not None:
                then(pipe)
            again = pipe.execute(raise_on_error=False)
            for i, answer in zip(missing, again, strict=False):
                got[i] = answer
            got[len(outcomes) :] = again[len(missing) :]
        for r in got:
            if isinstance(r, Exception):
                raise r
        return got

    def _queue_finishes(self, pipe: Any, outcomes: Sequence[Outcome], sha: str) -> None:
        now = repr(time.time())
        for o in outcomes:
            result = encode(o.result) if o.result is not None else b""
            result_key = self.keys.job_result(o.job_id) if len(result) > RESULT_INLINE_BYTES else ""
            keys = [
                self.key(o.job_id),
                self.done_channel,
                self.keys.prediction_log,
                self.keys.prediction_log_rows,
                self.leases_key,
                result_key,
            ]
            args = [
                o.status.value,
                now,
                result,
                encode(o.error) if o.error is not None else "",
                self.ttl,
                self.log_maxlen,
                o.job_id,
                o.stored_bytes,
                *self.quota_args(),
                *prediction_log.append_args(o.log_records),
            ]
            pipe.evalsha(sha, len(keys), *keys, *args)
