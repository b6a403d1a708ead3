"""Leases: every non-terminal job and every running batch part has one, by deadline.

One sorted set (``Keys.leases``) holds them. A job gets its lease when it is
created (it must be taken by a worker by then), a new one when a worker claims
it (its worker must finish it or renew the lease by then) and loses it when it
finishes; a batch job hands its lease to its parts when it publishes them. The
scripts that change a job's state keep the set (``job_create``, ``job_claim*``,
``job_finish``, ``job_discard``, ``part_claim``, ``part_release``); the sweeper
reads only the members past their deadline (:meth:`Leases.sweep`), so its cost
grows with the expired leases, never with the number of jobs.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from core.jobs.base import StoreBase
from core.keys import BATCH_PARTS_SUFFIX

# a lease that expired while running: what its job (or part) reports as its last failure
LEASE_EXPIRED = "its worker stopped renewing its lease (the worker was killed or lost)"
MAX_BACKOFF = 16  # a job re-published again and again waits at most this many queued leases


class Release(StrEnum):
    """How a part task lets go of its part."""

    DONE = "done"  # scored (or nothing left to do): its lease ends
    RETRY = "retry"  # failed without finishing: queued again, the attempt counts
    HANDBACK = "handback"  # its worker is stopping: queued again, the attempt does not count


@dataclass(frozen=True)
class PartClaim:
    outcome: str  # claimed, stopped, busy or poison
    attempts: int = 0
    last_error: str = ""


@dataclass(frozen=True)
class Expired:
    """A lease the sweeper took back: publish this job's (or part's) task again."""

    kind: str  # the job's type, or "part"
    job_id: str
    part: int | None
    was_running: bool  # its worker died (else its message was lost, or is late)


class Leases(StoreBase):
    """The lease of every non-terminal job and running batch part."""

    def sweep(self, limit: int, now: float | None = None) -> list[Expired]:
        """Take back at most ``limit`` expired leases (one round trip); what to publish."""
        got = self.script("lease_sweep")(
            keys=[self.leases_key],
            args=[
                repr(time.time() if now is None else now),
                limit,
                self.keys.job_prefix,
                self.keys.batch_prefix,
                BATCH_PARTS_SUFFIX,
                self.queued_lease,
                MAX_BACKOFF,
                LEASE_EXPIRED,
            ],
        )
        return [
            Expired(kind.decode(), job_id.decode(), int(part) if part else None, bool(running))
            for kind, job_id, part, running in got
        ]

    def renew(self, job_id: str, owner: str, lease: float, part: int | None = None) -> bool:
        """A heartbeat: the lease of the job (or its part) ``owner`` runs lasts ``lease``
        more seconds; False when it no longer runs it."""
        member = job_id if part is None else self.keys.lease_part(job_id, part)
        parts = "" if part is None else self.keys.batch_parts(job_id)
        return bool(
            self.script("lease_renew")(
                keys=[self.leases_key, self.key(job_id), parts],
                args=[member, repr(time.time() + lease), owner, "" if part is None else part],
            )
        )

    def hand_to_parts(self, job_id: str, parts: Iterable[int]) -> None:
        """A batch job's parts are about to be published: each is leased until the queued
        deadline (one already leased keeps its lease) and the job's own lease ends."""
        deadline = time.time() + self.queued_lease
        members = {self.keys.lease_part(job_id, i): deadline for i in parts}
        pipe = self.redis.pipeline(transaction=True)
        if members:
            pipe.zadd(self.leases_key, members, nx=True)
        pipe.zrem(self.leases_key, job_id)
        pipe.execute()

    def claim_part(
        self,
        job_id: str,
        part: int,
        owner: str,
        *,
        lease: float,
        max_attempts: int,
        ttl: int,
        node: str = "",
    ) -> PartClaim:
        """Claim a part for ``owner``; ``node`` (the worker's name) stays in the batch's
        parts hash as ``<part>:node`` once it is done: which host scored it."""
        got = self.script("part_claim")(
            keys=[self.key(job_id), self.keys.batch_parts(job_id), self.leases_key],
            args=[
                part,
                owner,
                repr(time.time()),
                lease,
                max_attempts,
                self.keys.lease_part(job_id, part),
                ttl,
                node,
            ],
        )
        outcome, *rest = [g.decode() if isinstance(g, bytes) else g for g in got]
        return PartClaim(outcome, int(rest[0]), str(rest[1])) if rest else PartClaim(outcome)

    def release_part(
        self, job_id: str, part: int, owner: str, how: Release, error: str = ""
    ) -> bool:
        """Let go of a part ``owner`` holds; False if another owner holds it now."""
        return bool(
            self.script("part_release")(
                keys=[self.leases_key, self.keys.batch_parts(job_id)],
                args=[
                    self.keys.lease_part(job_id, part),
                    part,
                    owner,
                    how.value,
                    repr(time.time() + self.queued_lease),
                    error,
                ],
            )
        )
