"""``/api/v1/jobs``: read, long-poll, list and cancel jobs."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from core.jobs import JobStatus, JobType
from monitoring.metrics import JOBS_FINISHED
from web.bodies import choice_param, int_param, wait_seconds
from web.services import services

bp = Blueprint("jobs", __name__, url_prefix="/api/v1")
MAX_LIST = 200


@bp.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    svc = services()
    wait = wait_seconds(svc.settings.max_wait_seconds)
    job = svc.wait(job_id, wait) if wait > 0 else svc.store.get(job_id)
    return jsonify(job.to_resource())


@bp.delete("/jobs/<job_id>")
def cancel_job(job_id: str) -> Response:
    job = services().store.cancel(job_id)
    JOBS_FINISHED.labels(job.type.value, JobStatus.CANCELLED.value).inc()
    return jsonify(job.to_resource())


@bp.get("/jobs")
def list_jobs() -> Response:
    limit = int_param("limit", 50, 1, MAX_LIST)
    job_type = choice_param("type", [t.value for t in JobType])
    status = choice_param("status", [s.value for s in JobStatus])
    jobs = services().store.recent(
        limit=limit,
        job_type=JobType(job_type) if job_type else None,
        status=JobStatus(status) if status else None,
    )
    return jsonify({"jobs": [j.to_resource() for j in jobs], "limit": limit})
