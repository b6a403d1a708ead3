"""The job store: job records in Redis, their legal transitions, and completion events.

- :mod:`core.jobs.model`: job types, states and the record;
- :mod:`core.jobs.submissions`: what the web does (create, cancel);
- :mod:`core.jobs.listing`: pages of recent jobs from an index, summary fields only;
- :mod:`core.jobs.transitions`: what workers do (claim, progress, finish);
- :mod:`core.jobs.leases`: the lease of every non-terminal job and running batch part;
- the Lua scripts are ``core/scripts/job_*.lua``; the key names are :class:`core.keys.Keys`.
"""

from __future__ import annotations

from core.jobs.base import guard
from core.jobs.leases import Expired, Leases, PartClaim, Release
from core.jobs.listing import CURSOR_PATTERN, SCAN_LIMIT, Cursor, Listing, Page
from core.jobs.model import TERMINAL, ClaimOutcome, Job, JobStatus, JobType, Outcome
from core.jobs.submissions import Creation, Submissions, new_job_id, written
from core.jobs.transitions import Transitions

__all__ = [
    "CURSOR_PATTERN",
    "SCAN_LIMIT",
    "TERMINAL",
    "ClaimOutcome",
    "Creation",
    "Cursor",
    "Expired",
    "Job",
    "JobStatus",
    "JobStore",
    "JobType",
    "Outcome",
    "Page",
    "PartClaim",
    "Release",
    "guard",
    "new_job_id",
    "written",
]


class JobStore(Submissions, Listing, Transitions, Leases):
    """Job records, transitions and completion events in Redis (both sides)."""
