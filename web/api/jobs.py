"""The contract of ``/api/v1/jobs``: read, long-poll, list and cancel jobs."""

from __future__ import annotations

from core.apikeys import TENANT_PATTERN, Scope
from core.jobs import CURSOR_PATTERN, SCAN_LIMIT, JobStatus, JobType
from web.api.common import WAIT
from web.api.components import (
    INVALID,
    JOB_REF,
    JOB_SUMMARY_REF,
    NOT_FOUND_JOB,
    UNAVAILABLE,
    json_response,
    problem_response,
)
from web.api.contract import Operation, Param

# who may cancel a job: the scope that makes its type (checked against the job itself)
CANCEL_SCOPES = (Scope.PREDICT, Scope.BATCH, Scope.REPORT)
MAX_LIST = 200  # jobs one list answer holds at most
DEFAULT_LIST = 50

GET_JOB = Operation(
    summary="A job (long-poll with `wait`)",
    tags=("jobs",),
    scopes=(Scope.READ,),
    params=(WAIT,),
    responses={
        "200": json_response("the job", JOB_REF),
        "404": NOT_FOUND_JOB,
        "422": INVALID,
        "503": UNAVAILABLE,
    },
)

CANCEL_JOB = Operation(
    summary="Cancel a job that has not finished; the job stays readable as `cancelled`",
    description=(
        "A queued job is never run; a running batch stops between chunks and its files are "
        "removed. The job record is kept until it expires: `GET /api/v1/jobs/{job_id}` "
        "answers it with status `cancelled`. A finished job cannot be cancelled (409). "
        "Needs the scope that makes jobs of its type (`predict`, `batch` or `report`)."
    ),
    tags=("jobs",),
    scopes=CANCEL_SCOPES,
    responses={
        "200": json_response("the cancelled job", JOB_REF),
        "404": NOT_FOUND_JOB,
        "409": problem_response("the job has already finished"),
        "503": UNAVAILABLE,
    },
)

CANCEL_JOB_BY_DELETE = Operation(
    summary="Deprecated: cancel a job, as `POST /api/v1/jobs/{job_id}/cancel` does",
    description=(
        "Kept for existing clients. Despite the method, nothing is deleted: the job is "
        "cancelled and stays readable (status `cancelled`) until it expires, so a `GET` "
        "after it answers 200. Use `POST /api/v1/jobs/{job_id}/cancel`."
    ),
    tags=("jobs",),
    scopes=CANCEL_SCOPES,
    deprecated=True,
    responses=CANCEL_JOB.responses,
)

LIST_JOBS = Operation(
    summary="Recent jobs of the key's tenant, newest first, a page at a time",
    description=(
        "Job summaries (no `result`: read `GET /api/v1/jobs/{job_id}` for it), newest first. "
        "Pass `next_cursor` back as `cursor` for the next page; `next_cursor` is null after "
        "the last one. A page costs O(`limit`). With `type` or `status`, a page reads at "
        f"most {SCAN_LIMIT} jobs past the cursor looking for matches: it may then hold fewer "
        "than `limit` jobs, even none, with a `next_cursor` to go on from. An `admin` key "
        "may list another tenant's jobs with `tenant`; another key may name only its own "
        "tenant there (403 otherwise)."
    ),
    tags=("jobs",),
    scopes=(Scope.READ,),
    params=(
        Param(
            "limit",
            "query",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIST, "default": DEFAULT_LIST},
            "how many jobs at most",
        ),
        Param("type", "query", {"type": "string", "enum": [t.value for t in JobType]}),
        Param("status", "query", {"type": "string", "enum": [s.value for s in JobStatus]}),
        Param(
            "tenant",
            "query",
            {"type": "string", "pattern": TENANT_PATTERN},
            "whose jobs (default: the key's tenant; another tenant's needs `admin`)",
        ),
        Param(
            "cursor",
            "query",
            {"type": "string", "pattern": CURSOR_PATTERN},
            "where to go on from: a page's `next_cursor` (opaque; pass the same filters)",
        ),
    ),
    responses={
        "200": json_response(
            "a page of jobs, newest first",
            {
                "type": "object",
                "required": ["jobs", "limit", "next_cursor"],
                "properties": {
                    "jobs": {"type": "array", "items": JOB_SUMMARY_REF},
                    "limit": {"type": "integer"},
                    "next_cursor": {
                        "type": ["string", "null"],
                        "description": "the next page's `cursor`; null after the last page",
                    },
                },
            },
        ),
        "422": INVALID,
        "503": UNAVAILABLE,
    },
)
