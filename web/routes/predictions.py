"""``POST /api/v1/predictions``: validate instances against the model's schema, queue a job."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response

from core import prediction_inputs
from core.deployment import Routing
from core.jobs import JobType, new_job_id
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
    columns, version, routing = _validate(svc, body)
    callback = callback_url(body.get("callback_url"), ["callback_url"])
    fingerprint = hashlib.sha256(raw).hexdigest()
    creation = svc.store_for(JobType.PREDICTION).creation(
        JobType.PREDICTION,
        params=prediction_inputs.params(columns),
        model_version=version,
        routing=routing,
        total=len(columns),
        idempotency_key=key,
        fingerprint=fingerprint,
        tenant=auth.tenant(),
        tenancy=auth.tenancy(),
        callback_url=callback,
        job_id=new_job_id(),
    )
    new_id = creation.job_id
    svc.waiter.expect(new_id, auth.tenant())  # its long-polls need not read it first
    try:
        with svc.watching(new_id, wait) as done:
            job_id, record = svc.create_prediction(creation, key)
            if record is not None:
                metrics.JOBS_SUBMITTED.labels(JobType.PREDICTION.value).inc()
                job = svc.wait_written(record, wait, done)  # queued with its record
                return job_response(job)
    except BaseException:  # refused, or not published: no such job to expect
        svc.waiter.forget(new_id)
        raise
    svc.waiter.forget(new_id)  # replayed: the job is an earlier one
    return replayed_job_response(svc.wait(job_id, wait), fingerprint, "body")


def _validate(svc: Services, body: dict[str, Any]) -> tuple[Columns, str, Routing]:
    """Cleaned instances as columns (the body already matches the schema), the version and
    why it serves the request (the traffic policy; the first instance's id, if any, decides
    a canary's share by its stable hash)."""
    instances = body["instances"]
    first_id = instances[0].get("id") if isinstance(instances[0], dict) else None
    version, routing = svc.catalog.route(
        body.get("model_version"), None if first_id is None else str(first_id)
    )
    columns = validate_columns(
        svc.catalog.schema(version), instances, max_instances=svc.settings.max_instances
    )
    return columns, version, routing
