"""A job as the API shows it (and a webhook delivers it): the JSON of a job record."""

from __future__ import annotations

from typing import Any

import msgspec

from core.jobs.model import Job
from core.timestamps import iso

API_BASE = "/api/v1"  # where the job resources live


def job_resource(job: Job, base_path: str = API_BASE, *, raw: bool = False) -> dict[str, Any]:
    """The job's JSON object.

    With ``raw``, the result stays the stored JSON (``msgspec.Raw``), spliced into the
    response as is: a 1000-prediction result is neither decoded nor encoded again.
    """
    if raw:
        result: Any = msgspec.Raw(job.result_json) if job.result_json else None
    else:
        result = job.result
    return {
        "id": job.id,
        "type": job.type.value,
        "status": job.status.value,
        "created_at": iso(job.created_at),
        "started_at": iso(job.started_at),
        "finished_at": iso(job.finished_at),
        "model_version": job.model_version,
        "routing": job.routing,
        "progress": {"done": job.progress_done, "total": job.progress_total},
        "result": result,
        "error": job.error,
        "tenant": job.tenant,
        "webhook": job.webhook,
        "links": {"self": f"{base_path}/jobs/{job.id}"},
    }


def job_summary(job: Job, base_path: str = API_BASE) -> dict[str, Any]:
    """A job as a listing shows it: everything but the result (read from the job itself)."""
    resource = job_resource(job, base_path)
    del resource["result"]
    return resource
