"""``POST /api/v1/predictions``: validate instances against the model's schema, queue a job."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, Response

from core.errors import InvalidRequest
from core.jobs import JobType
from core.queue import PREDICT_TASK
from ml.schema import validate_instances
from telemetry import metrics
from web.bodies import idempotency_key, json_body, wait_seconds
from web.responses import job_response, replayed_job_response
from web.services import services

bp = Blueprint("predictions", __name__, url_prefix="/api/v1")
ALLOWED_KEYS = ("instances", "model_version")


@bp.post("/predictions")
def create_prediction() -> Response:
    svc = services()
    s = svc.settings
    wait = wait_seconds(s.max_wait_seconds)
    key = idempotency_key()
    body, raw = json_body(s.max_json_bytes)
    instances, version = _validate(svc, body)
    fingerprint = hashlib.sha256(raw).hexdigest()
    job_id, created = svc.store.create(
        JobType.PREDICTION,
        params={"instances": instances},
        model_version=version,
        total=len(instances),
        idempotency_key=key,
        fingerprint=fingerprint,
    )
    if not created:
        return replayed_job_response(svc.wait(job_id, wait), fingerprint, "body")
    metrics.JOBS_SUBMITTED.labels(JobType.PREDICTION.value).inc()
    svc.publish(PREDICT_TASK, job_id, key)
    return job_response(svc.wait(job_id, wait) if wait > 0 else svc.store.get(job_id))


def _validate(svc: Any, body: Any) -> tuple[list[dict[str, Any]], str]:
    if not isinstance(body, dict):
        raise InvalidRequest(
            "the body must be a JSON object", errors=[{"loc": ["body"], "msg": "must be an object"}]
        )
    errors = [{"loc": [k], "msg": "unknown field"} for k in body if k not in ALLOWED_KEYS]
    if "instances" not in body:
        errors.append({"loc": ["instances"], "msg": "field required"})
    try:
        version = svc.catalog.resolve(body.get("model_version"))
    except InvalidRequest as exc:
        errors += exc.errors
        version = None
    if errors:
        raise InvalidRequest(f"{len(errors)} invalid field(s)", errors=errors)
    instances = validate_instances(
        svc.catalog.schema(version), body["instances"], max_instances=svc.settings.max_instances
    )
    return instances, version
