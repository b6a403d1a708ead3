"""``POST /api/v1/predictions``: validate instances against the model's schema, queue a job."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response

from core import prediction_inputs
from core.jobs import JobType
from core.queue import PREDICT_TASK
from ml.columns import Columns, validate_columns
from telemetry import metrics
from web import auth
from web.api.predictions import CREATE_PREDICTION
from web.callbacks import callback_url
from web.responses import job_response, replayed_job_response
from web.services import Services, services

bp = Blueprint("predictions", __name__, url_prefix="/api/v1")


@bp.post("/predictions")
@CREATE_PREDICTION
def create_prediction() -> Response:
    svc = services()
    params = CREATE_PREDICTION.read_params(svc)
    wait, key = params["wait"] or 0.0, params["Idempotency-Key"]
    body, raw = CREATE_PREDICTION.read_json(svc)
    columns, version = _validate(svc, body)
    callback = callback_url(body.get("callback_url"), ["callback_url"])
    fingerprint = hashlib.sha256(raw).hexdigest()
    job_id, record = svc.store_for(JobType.PREDICTION).create_job(
        JobType.PREDICTION,
        params=prediction_inputs.params(columns),
        model_version=version,
        total=len(columns),
        idempotency_key=key,
        fingerprint=fingerprint,
        tenant=auth.tenant(),
        tenancy=auth.tenancy(),
        callback_url=callback,
    )
    if record is None:
        return replayed_job_response(svc.wait(job_id, wait), fingerprint, "body")
    metrics.JOBS_SUBMITTED.labels(JobType.PREDICTION.value).inc()
    svc.publish(PREDICT_TASK, job_id, key)
    return job_response(svc.wait(job_id, wait) if wait > 0 else record)


def _validate(svc: Services, body: dict[str, Any]) -> tuple[Columns, str]:
    """Cleaned instances as columns (the body already matches the schema) and the version."""
    version = svc.catalog.resolve(body.get("model_version"))
    columns = validate_columns(
        svc.catalog.schema(version), body["instances"], max_instances=svc.settings.max_instances
    )
    return columns, version
