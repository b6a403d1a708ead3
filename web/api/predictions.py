"""The contract of ``POST /api/v1/predictions``."""

from __future__ import annotations

from typing import Any

from core.apikeys import Scope
from web.api.common import CALLBACK_URL, IDEMPOTENCY_KEY, WAIT
from web.api.components import (
    INSTANCE_REF,
    INVALID,
    MALFORMED,
    NOT_JSON,
    QUOTA,
    TOO_LARGE,
    UNAVAILABLE,
    job_response,
    model_versions,
    problem_response,
)
from web.api.contract import JSON, Operation
from web.services import Services


def _body(svc: Services) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["instances"],
        "additionalProperties": False,
        "properties": {
            "instances": {
                "type": "array",
                "minItems": 1,
                "maxItems": svc.settings.max_instances,
                "items": INSTANCE_REF,
            },
            "model_version": model_versions(svc),
            "callback_url": CALLBACK_URL,
        },
    }


CREATE_PREDICTION = Operation(
    summary="Queue a prediction job",
    description=(
        "Each instance is checked against the requested model version's feature schema "
        "(the `Instance` schema here is the default version's); every bad field is named. "
        "A `callback_url` that is not https at a public address is 422. "
        "With `wait`, the answer is 200 "
        "with the finished job when it finishes in time."
    ),
    tags=("predictions",),
    scopes=(Scope.PREDICT,),
    params=(WAIT, IDEMPOTENCY_KEY),
    bodies={JSON: _body},
    checked_by_route=("Instance",),
    responses={
        "200": job_response("the job finished within `wait` (or a retry's job, finished)"),
        "202": job_response("the job is queued or running; poll `Location`"),
        "400": MALFORMED,
        "409": problem_response("Idempotency-Key reused with another body"),
        "413": TOO_LARGE,
        "415": NOT_JSON,
        "422": INVALID,
        "429": QUOTA,
        "503": UNAVAILABLE,
    },
)
