"""The OpenAPI 3 document, built from the routes and the default model's feature schema."""

from __future__ import annotations

from typing import Any

from ml.schema import FeatureSchema

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
JOB_REF = {"$ref": "#/components/schemas/Job"}
VERSION_PARAM = {"name": "version", "in": "path", "required": True, "schema": {"type": "string"}}


def problem_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
    }


def job_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": JOB_REF}}}


def instance_schema(schema: FeatureSchema | None) -> dict[str, Any]:
    """JSON Schema of one instance, from the model's feature schema."""
    if schema is None:
        return {"type": "object", "additionalProperties": True}
    props: dict[str, Any] = {
        "id": {"type": ["string", "integer"], "description": "optional client id, echoed back"}
    }
    for f in schema.features:
        if f.kind == "categorical":
            prop: dict[str, Any] = {"type": "string", "enum": list(f.categories or [])}
        else:
            prop = {"type": "integer" if f.integer else "number"}
            if f.minimum is not None:
                prop["minimum"] = f.minimum
            if f.maximum is not None:
                prop["maximum"] = f.maximum
        if f.nullable:
            prop = {"anyOf": [prop, {"type": "null"}]}
        props[f.name] = prop
    return {
        "type": "object",
        "properties": props,
        "required": [f.name for f in schema.features],
        "additionalProperties": False,
    }


def _wait_param() -> dict[str, Any]:
    return {
        "name": "wait",
        "in": "query",
        "required": False,
        "description": "seconds to wait for the job to finish (long-poll)",
        "schema": {"type": "number", "minimum": 0, "maximum": 30},
    }


def _job_id_param() -> dict[str, Any]:
    return {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}


def document(
    schema: FeatureSchema | None, max_instances: int, extra_paths: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The whole document; ``extra_paths`` come from the route modules' ``OPENAPI_PATHS``."""
    prediction_request = {
        "type": "object",
        "required": ["instances"],
        "additionalProperties": False,
        "properties": {
            "instances": {
                "type": "array",
                "minItems": 1,
                "maxItems": max_instances,
                "items": {"$ref": "#/components/schemas/Instance"},
            },
            "model_version": {"type": "string"},
        },
    }
    job = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "status": {
                "type": "string",
                "enum": ["queued", "running", "succeeded", "failed", "cancelled"],
            },
            "type": {
                "type": "string",
                "enum": ["prediction", "batch", "drift_report", "performance_report"],
            },
            "created_at": {"type": "string", "format": "date-time"},
            "started_at": {"type": ["string", "null"], "format": "date-time"},
            "finished_at": {"type": ["string", "null"], "format": "date-time"},
            "model_version": {"type": ["string", "null"]},
            "progress": {
                "type": "object",
                "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}},
            },
            "result": {},
            "error": {"type": ["object", "null"]},
            "links": {"type": "object"},
        },
    }
    problem = {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                        "msg": {"type": "string"},
                    },
                },
            },
        },
    }
    paths: dict[str, Any] = {
        "/api/v1/predictions": {
            "post": {
                "summary": "Queue a prediction job",
                "parameters": [
                    _wait_param(),
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "maxLength": 255},
                        "description": "the same key within the job TTL returns the same job",
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/PredictionRequest"}
                        }
                    },
                },
                "responses": {
                    "200": job_response("the job finished within `wait`"),
                    "202": job_response("the job is queued or running; poll `Location`"),
                    "400": problem_response("the body is not JSON"),
                    "409": problem_response("Idempotency-Key reused with another body"),
                    "413": problem_response("the body is too large"),
                    "415": problem_response("not application/json"),
                    "422": problem_response("invalid fields, each named in `errors`"),
                    "503": problem_response(
                        "Redis unreachable or no model installed; see Retry-After"
                    ),
                },
            }
        },
        "/api/v1/jobs": {
            "get": {
                "summary": "Recent jobs",
                "parameters": [
                    {"name": "type", "in": "query", "schema": {"type": "string"}},
                    {"name": "status", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200},
                    },
                ],
                "responses": {
                    "200": {"description": "jobs, newest first"},
                    "422": problem_response("invalid parameter"),
                },
            }
        },
        "/api/v1/jobs/{job_id}": {
            "get": {
                "summary": "A job (long-poll with `wait`)",
                "parameters": [_job_id_param(), _wait_param()],
                "responses": {
                    "200": job_response("the job"),
                    "404": problem_response("unknown or expired job"),
                },
            },
            "delete": {
                "summary": "Cancel a job that has not finished",
                "parameters": [_job_id_param()],
                "responses": {
                    "200": job_response("the cancelled job"),
                    "404": problem_response("unknown or expired job"),
                    "409": problem_response("the job has already finished"),
                },
            },
        },
        "/api/v1/models": {
            "get": {
                "summary": "Installed model versions",
                "responses": {"200": {"description": "versions"}},
            }
        },
        "/api/v1/models/{version}": {
            "get": {
                "summary": "A model version's card",
                "parameters": [VERSION_PARAM],
                "responses": {
                    "200": {"description": "the model card"},
                    "404": problem_response("no such version"),
                },
            }
        },
        "/api/v1/models/{version}/monitoring": {
            "get": {
                "summary": "What monitoring last measured of a model version",
                "description": (
                    "`drift_check`: the last scheduled drift check (rows, per-feature drift "
                    "summary, label-free estimated accuracy, calibration, timings); "
                    "`measured_accuracy`: the rolling accuracy (and ROC AUC) over the "
                    "latest predictions with feedback. Each is null until measured."
                ),
                "parameters": [VERSION_PARAM],
                "responses": {
                    "200": {"description": "the latest drift check and measured accuracy"},
                    "404": problem_response("no such version"),
                    "503": problem_response("Redis cannot be reached"),
                },
            }
        },
        "/health": {"get": {"summary": "Liveness", "responses": {"200": {"description": "up"}}}},
        "/ready": {
            "get": {
                "summary": "Readiness: Redis, model, a worker",
                "responses": {
                    "200": {"description": "ready"},
                    "503": {"description": "what is missing"},
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics",
                "responses": {"200": {"description": "text format"}},
            }
        },
    }
    paths.update(extra_paths or {})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Lifeboat",
            "version": "1",
            "description": "Asynchronous ML predictions: queue a job, poll its result.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "PredictionRequest": prediction_request,
                "Instance": instance_schema(schema),
                "Job": job,
                "Problem": problem,
            }
        },
    }
