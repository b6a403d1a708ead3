"""``/api/v1/jobs``: read, long-poll, list and cancel jobs."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, redirect, request

from core import batch_files
from core.apikeys import Scope
from core.errors import JobConflict, ReportNotFound, ResultNotFound, ResultNotReady
from core.jobs import Cursor, JobStatus, JobType
from core.jobs.resource import job_resource, job_summary
from core.storage import PRESIGN_SECONDS, layout, storage_of
from telemetry import metrics
from web import auth
from web.api import batches as batches_api
from web.api import jobs as api
from web.api import reports as reports_api
from web.responses import json_response
from web.services import services

bp = Blueprint("jobs", __name__, url_prefix="/api/v1")
REPORT_JOB_TYPES = frozenset(reports_api.REPORT_TYPES.values())
CANCEL_SCOPE = {  # who may cancel a job: a key that may make jobs of its type
    JobType.PREDICTION: Scope.PREDICT,
    JobType.BATCH: Scope.BATCH,
    JobType.DRIFT_REPORT: Scope.REPORT,
    JobType.PERFORMANCE_REPORT: Scope.REPORT,
    JobType.COMPARISON_REPORT: Scope.REPORT,
}


@bp.get("/jobs/<job_id>")
@api.GET_JOB
def get_job(job_id: str) -> Response:
    svc = services()
    wait = api.GET_JOB.read_params(svc)["wait"] or 0.0
    # another tenant's: 404, never waited for
    job = svc.read_and_wait(job_id, wait, auth.own, auth.may_see)
    return json_response(job_resource(job, raw=True))


@bp.get("/jobs/<job_id>/report")
@reports_api.GET_REPORT
def get_report(job_id: str) -> Response:
    """A report job's Evidently HTML: 409 until the job has succeeded."""
    svc = services()
    job = auth.own(svc.store.get(job_id))
    if job.type not in REPORT_JOB_TYPES:
        raise ReportNotFound(f"job {job.id} is a {job.type.value} job; it has no report")
    if job.status is not JobStatus.SUCCEEDED:
        raise JobConflict(f"the report is not ready: the job is {job.status.value}")
    try:  # always through the web: its sandboxing headers go with it (a redirect drops them)
        return _download(layout.report(job.id), "text/html", presign=False)
    except FileNotFoundError:
        raise ReportNotFound(f"the report of job {job.id} has expired") from None


PARQUET_TYPE = "application/vnd.apache.parquet"
RESULT_TYPES = {"csv": "text/csv", "parquet": PARQUET_TYPE}
PARQUET_TYPES = (PARQUET_TYPE, "application/x-parquet")


@bp.get("/jobs/<job_id>/result")
@batches_api.GET_RESULT
def get_result(job_id: str) -> Response:
    """A batch job's scored file, streamed from storage: 409 until the job has succeeded.

    CSV unless ``?format=parquet`` or an ``Accept`` header preferring Parquet asks for it.
    """
    svc = services()
    file_format = _result_format(batches_api.GET_RESULT.read_params(svc)["format"])
    job = auth.own(svc.store.get(job_id))
    if job.type is not JobType.BATCH:
        raise ResultNotFound(f"job {job.id} is a {job.type.value} job; it has no result file")
    if job.status is not JobStatus.SUCCEEDED:
        raise ResultNotReady(f"the result is not ready: the job is {job.status.value}")
    try:
        resp = _download(
            layout.result(job.id, file_format),
            RESULT_TYPES[file_format],
            attachment=f"{job.id}.{file_format}",
            presign=svc.settings.storage_presign,
        )
    except FileNotFoundError:
        raise ResultNotFound(f"the {file_format} result of job {job.id} has expired") from None
    resp.vary.add("Accept")
    return resp


def _download(key: str, mimetype: str, *, presign: bool, attachment: str | None = None) -> Response:
    """A stored file streamed to the client, or (``presign``, on S3) a redirect to a
    presigned URL of it. ``FileNotFoundError`` when it is gone."""
    store = storage_of(services().settings)
    size = store.size(key)
    url = store.presigned_url(key, PRESIGN_SECONDS) if presign else None
    if url is not None:
        return redirect(url, 307)
    resp = Response(store.stream(key), mimetype=mimetype, direct_passthrough=True)
    resp.content_length = size
    if attachment is not None:
        resp.headers["Content-Disposition"] = f'attachment; filename="{attachment}"'
    return resp


def _result_format(asked: str | None) -> str:
    """``?format=`` if given, else the ``Accept`` header's preference; CSV by default."""
    if asked:
        return asked
    offered = ["text/csv", *PARQUET_TYPES]
    best = request.accept_mimetypes.best_match(offered, default="text/csv")
    return "parquet" if best in PARQUET_TYPES else "csv"


@bp.post("/jobs/<job_id>/cancel")
@api.CANCEL_JOB
def cancel_job(job_id: str) -> Response:
    """Cancel and keep: the job stays readable as ``cancelled`` until it expires.

    Needs the scope that makes jobs of its type."""
    svc = services()
    job = auth.own(svc.store.get(job_id))
    auth.require(CANCEL_SCOPE[job.type])
    job = svc.store_for(job.type).cancel(job_id)
    metrics.JOBS_FINISHED.labels(job.type.value, JobStatus.CANCELLED.value).inc()
    if job.type is JobType.BATCH:  # a running part notices between chunks and stops
        batch_files.remove_all(svc.settings, job.id)
    return jsonify(job_resource(job))


@bp.delete("/jobs/<job_id>")
@api.CANCEL_JOB_BY_DELETE
def cancel_job_by_delete(job_id: str) -> Response:
    """The older spelling of ``POST /jobs/<id>/cancel``, kept for existing clients."""
    return cancel_job(job_id)


@bp.get("/jobs")
@api.LIST_JOBS
def list_jobs() -> Response:
    """A page of the tenant's jobs, newest first, from ``cursor`` on (summaries: no results)."""
    svc = services()
    params = api.LIST_JOBS.read_params(svc)
    limit, job_type, status = params["limit"], params["type"], params["status"]
    tenant = params["tenant"] or auth.tenant()
    if tenant != auth.tenant():
        auth.require(Scope.ADMIN)
    cursor = Cursor.decode(params["cursor"]) if params["cursor"] else None
    page = svc.store.page(
        limit=limit,
        cursor=cursor,
        job_type=JobType(job_type) if job_type else None,
        status=JobStatus(status) if status else None,
        tenant=tenant,
    )
    following = page.next_cursor.encode() if page.next_cursor else None
    return jsonify(
        {"jobs": [job_summary(j) for j in page.jobs], "limit": limit, "next_cursor": following}
    )
