"""Listing jobs: a page of an index of job ids, newest first, reading summary fields only.

The indexes are sorted sets of job ids by creation time (``Keys.tenant_recent_jobs``
for a tenant, ``Keys.recent_jobs`` for every job), written when a job is created.
One script (``core/scripts/job_list.lua``) walks an index from a cursor and reads
each job's summary fields with ``HMGET``, never its result or inputs, so a page
costs O(``limit``) without filters. A type or status filter reads entries until
``limit`` jobs match or ``scan_limit`` entries were read, then answers a cursor
where it stopped: a page may then hold fewer jobs than ``limit`` (even none)
while a next cursor says there is more. Entries whose record has expired are
skipped (they count towards ``scan_limit``, not ``limit``) and taken out of the
index, so each costs one read once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import InvalidRequest
from core.jobs.base import StoreBase, guard
from core.jobs.model import Job, JobStatus, JobType

SCAN_LIMIT = 1_000  # index entries one page reads at most when a filter skips jobs
# what a listing reads of a job record ('type' and 'status' first: the script filters on them)
SUMMARY_FIELDS = (
    "type",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "model_version",
    "progress_done",
    "progress_total",
    "error",
    "tenant",
)
_FIELD_NAMES = [f.encode() for f in SUMMARY_FIELDS]
# a cursor: an index entry's score (a creation time, seconds) and its job id
CURSOR_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,20})?~[A-Za-z0-9-]{1,64}$"


@dataclass(frozen=True)
class Cursor:
    """Where a page of an index ends: the last entry read, ``<creation time>~<job id>``.

    Clients treat it as opaque; any text of its shape (``CURSOR_PATTERN``) is a place in
    the index to go on from, so none is refused once its shape is right.
    """

    score: str
    job_id: str

    def encode(self) -> str:
        return f"{self.score}~{self.job_id}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor ``text`` names; another shape is a 422 naming ``cursor``."""
        if not re.fullmatch(CURSOR_PATTERN, text):
            raise InvalidRequest(
                "cursor is not one this API answered",
                errors=[{"loc": ["query", "cursor"], "msg": "not a cursor from a previous page"}],
            )
        score, job_id = text.split("~", 1)
        return cls(score, job_id)


@dataclass(frozen=True)
class Page:
    """Jobs (summary fields only: no result, no inputs) and where the next page starts."""

    jobs: list[Job]
    next_cursor: Cursor | None


class Listing(StoreBase):
    """Pages of recent jobs, of one tenant or of all."""

    def page(
        self,
        *,
        limit: int,
        cursor: Cursor | None = None,
        job_type: JobType | None = None,
        status: JobStatus | None = None,
        tenant: str | None = None,
        scan_limit: int = SCAN_LIMIT,
    ) -> Page:
        """Up to ``limit`` jobs newest first, from ``cursor`` on (see the module's doc)."""
        index = self.keys.tenant_recent_jobs(tenant) if tenant else self.keys.recent_jobs
        got = guard(
            self.script("job_list"),
            keys=[index],
            args=[
                self.keys.job_prefix,
                cursor.score if cursor else "+inf",
                cursor.job_id if cursor else "",
                limit,
                max(scan_limit, limit),
                job_type.value if job_type else "",
                status.value if status else "",
                *SUMMARY_FIELDS,
            ],
        )
        score, last, rows = got[0], got[1], got[2:]
        width = len(SUMMARY_FIELDS) + 1
        jobs = []
        for i in range(0, len(rows), width):
            values = rows[i + 1 : i + width]
            raw = {k: v for k, v in zip(_FIELD_NAMES, values, strict=True) if v is not None}
            jobs.append(Job.from_hash({b"id": rows[i], **raw}))
        following = Cursor(repr(float(score)), last.decode()) if last else None
        return Page(jobs, following)

    def recent(
        self,
        *,
        limit: int,
        job_type: JobType | None = None,
        status: JobStatus | None = None,
        tenant: str | None = None,
    ) -> list[Job]:
        """The first page's jobs (summary fields only)."""
        return self.page(limit=limit, job_type=job_type, status=status, tenant=tenant).jobs
