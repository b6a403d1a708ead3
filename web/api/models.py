"""The contract of ``/api/v1/models``, the operational endpoints and the docs themselves."""

from __future__ import annotations

from core.apikeys import Scope
from web.api.components import UNAVAILABLE, json_response, problem_response
from web.api.contract import Operation

NO_VERSION = problem_response("no installed model version by that name")
OBJECT = {"type": "object"}

LIST_MODELS = Operation(
    summary="Installed model versions",
    tags=("models",),
    scopes=(),
    responses={
        "200": json_response(
            "the versions and which is the default",
            {
                "type": "object",
                "required": ["default", "models"],
                "properties": {
                    "default": {"type": ["string", "null"]},
                    "models": {"type": "array", "items": OBJECT},
                },
            },
        ),
        "503": UNAVAILABLE,
    },
)
GET_MODEL = Operation(
    summary="A model version's card",
    tags=("models",),
    scopes=(),
    responses={"200": json_response("the model card", OBJECT), "404": NO_VERSION},
)
GET_MONITORING = Operation(
    summary="What monitoring last measured of a model version",
    description=(
        "`drift_check`: the last scheduled drift check (rows, per-feature drift summary, "
        "label-free estimated accuracy, calibration, timings); `measured_accuracy`: the "
        "rolling accuracy (and ROC AUC) over the latest predictions with feedback. Each is "
        "null until measured. `history`: their recent points (drift checks, accuracy "
        "updates), oldest first. Platform-wide (every tenant's predictions): `monitor` scope."
    ),
    tags=("models",),
    scopes=(Scope.MONITOR,),
    responses={
        "200": json_response("the latest drift check and measured accuracy", OBJECT),
        "404": NO_VERSION,
        "503": UNAVAILABLE,
    },
)

HEALTH = Operation(
    summary="Liveness",
    tags=("operations",),
    public=True,
    responses={"200": json_response("up", OBJECT)},
    rate_limited=False,
)
READY = Operation(
    summary="Readiness: Redis, the model, a worker",
    tags=("operations",),
    public=True,
    responses={
        "200": json_response("ready", OBJECT),
        "503": json_response("not ready; `checks` says what is missing", OBJECT),
    },
    rate_limited=False,
)
METRICS = Operation(
    summary="Prometheus metrics (every web process)",
    tags=("operations",),
    scopes=(Scope.METRICS,),
    responses={
        "200": {
            "description": "Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
    rate_limited=False,
)
OPENAPI = Operation(
    summary="This document",
    tags=("operations",),
    public=True,
    responses={"200": json_response("OpenAPI 3.1")},
    rate_limited=False,
)
SWAGGER_UI = Operation(
    summary="Swagger UI for this document",
    tags=("operations",),
    public=True,
    responses={"200": {"description": "the page", "content": {"text/html": {"schema": {}}}}},
    rate_limited=False,
)
