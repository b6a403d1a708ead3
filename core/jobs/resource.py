"""A job as the API shows it (and a webhook delivers it): the JSON of a job record."""

from __future__ import annotations

from typing import Any

import msgspec

from core.jobs.model import Job, JobType
from core.timestamps import iso

API_BASE = "/api/v1"  # where the job resources live
# what a job shows of its inputs, by type: names and sizes, never the paths of stored files
INPUT_FIELDS = {
    JobType.BATCH: ("filename", "format", "bytes", "id_column"),
    JobType.DRIFT_REPORT: ("source", "window"),
    JobType.PERFORMANCE_REPORT: ("source", "window"),
}


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
        "input": input_summary(job),
        "result": result,
        "error": job.error,
        "tenant": job.tenant,
        "webhook": job.webhook,
        "links": {"self": f"{base_path}/jobs/{job.id}"},
    }


def stored_input(job_type: JobType, params: dict[str, Any]) -> dict[str, Any] | None:
    """What a job's record keeps of its inputs for its resource, past its finish (which
    drops the inputs themselves); None for a prediction (its count is its progress total)."""
    fields = INPUT_FIELDS.get(job_type)
    return {name: params[name] for name in fields if name in params} if fields else None


def input_summary(job: Job) -> dict[str, Any]:
    """What the job was asked to work on: a prediction's instance count, a batch's file, a
    report's current data."""
    if job.type is JobType.PREDICTION:
        return {"instances": job.progress_total}
    return job.input or {}


def job_summary(job: Job, base_path: str = API_BASE) -> dict[str, Any]:
    """A job as a listing shows it: everything but its input and result (read the job)."""
    resource = job_resource(job, base_path)
    del resource["input"], resource["result"]
    return resource
