"""The document's shared schemas (a job, a problem, one instance) and answer shapes."""

from __future__ import annotations

from typing import Any

from core.deployment import Routing
from core.jobs import JobStatus, JobType
from ml.schema import MAX_ID_LENGTH, FeatureSchema
from web.services import Services

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
JOB_REF = {"$ref": "#/components/schemas/Job"}
JOB_SUMMARY_REF = {"$ref": "#/components/schemas/JobSummary"}
INSTANCE_REF = {"$ref": "#/components/schemas/Instance"}
LOCATION_HEADER = {
    "Location": {"description": "the job's URL", "schema": {"type": "string"}},
}

JOB: dict[str, Any] = {
    "type": "object",
    "required": ["id", "type", "status"],
    "properties": {
        "id": {"type": "string"},
        "status": {"type": "string", "enum": [s.value for s in JobStatus]},
        "type": {"type": "string", "enum": [t.value for t in JobType]},
        "created_at": {"type": "string", "format": "date-time"},
        "started_at": {"type": ["string", "null"], "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "model_version": {"type": ["string", "null"]},
        "routing": {
            "type": ["string", "null"],
            "enum": [*(r.value for r in Routing), None],
            "description": (
                "why `model_version` serves it: `pinned` (the request named it), `canary` "
                "(the traffic policy's canary share) or `default`; null for jobs that name "
                "no version of their own (reports) and jobs made before routing existed"
            ),
        },
        "progress": {
            "type": "object",
            "properties": {"done": {"type": "integer"}, "total": {"type": "integer"}},
        },
        "input": {
            "type": "object",
            "description": (
                "what it was asked to work on: a prediction's `instances` (count); a batch's "
                "`filename`, `format`, `bytes`, `id_column`; a report's `source` (`log` or "
                "`upload`) and `window`"
            ),
        },
        "result": {},
        "error": {"type": ["object", "null"]},
        "tenant": {"type": ["string", "null"], "description": "the tenant that made it"},
        "webhook": {
            "type": ["object", "null"],
            "description": "its completion webhook's deliveries (null: no callback URL)",
            "properties": {
                "url": {"type": "string"},
                "attempts": {"type": "integer", "minimum": 0},
                "last_status": {
                    "type": ["integer", "null"],
                    "description": "HTTP status of the last attempt (null: none, or no answer)",
                },
                "delivered_at": {"type": ["string", "null"], "format": "date-time"},
            },
        },
        "links": {"type": "object"},
    },
}
JOB_SUMMARY: dict[str, Any] = {
    **JOB,
    "description": "a job as a listing shows it: no `input` or `result` (read the job for them)",
    "properties": {k: v for k, v in JOB["properties"].items() if k not in ("input", "result")},
    "additionalProperties": False,
}
PROBLEM: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string"},
                },
            },
        },
    },
}


def problem_response(description: str, **extra: Any) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": PROBLEM_REF}},
        **extra,
    }


def job_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": LOCATION_HEADER,
        "content": {"application/json": {"schema": JOB_REF}},
    }


def json_response(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or {}}}}


RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}}
UNAVAILABLE = problem_response(
    "Redis or the queue cannot be reached, or no model is installed; see Retry-After",
    headers=RETRY_AFTER,
)
RATE_LIMIT_HEADERS = {
    "Retry-After": {
        "description": "whole seconds until the key may send a request again",
        "required": True,
        "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"},
    },
    "RateLimit-Policy": {
        "description": (
            'the key\'s bucket, `"per-key";q=<requests>;w=<seconds>`: it holds q requests '
            "and refills at the key's rate (q/w requests a second at most)"
        ),
        "required": True,
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": (
            '`"per-key";r=<requests left>;t=<seconds until the bucket is full>` '
            "(draft-ietf-httpapi-ratelimit-headers); sent on every answer to a request "
            "made with an API key"
        ),
        "required": True,
        "schema": {"type": "string"},
    },
}
RATE_LIMITED = problem_response(
    "the API key's rate limit is used up (the problem names it); see Retry-After",
    headers=RATE_LIMIT_HEADERS,
)
NOT_FOUND_JOB = problem_response("unknown or expired job, or another tenant's")
BEARER_SCHEME = "bearer"  # the security scheme's name in the document
UNAUTHORIZED = problem_response(
    "no API key, or an unknown, revoked or expired one",
    headers={
        "WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}},
    },
)
FORBIDDEN = problem_response("the API key lacks the scope this operation needs")
QUOTA = problem_response(
    "the tenant has as many queued or running jobs (or batches) as its quota allows; the "
    "problem names the limit in `errors` (`quota`, `active_jobs` or `active_batches`)"
)
STORAGE_QUOTA = problem_response(
    "the body is too large, or the tenant's stored files would exceed its quota of bytes "
    "(`errors` names `quota`, `stored_bytes`)"
)
SECURITY_SCHEMES = {
    BEARER_SCHEME: {
        "type": "http",
        "scheme": "bearer",
        "description": (
            "An API key: `Authorization: Bearer <key>`. Keys are made by an admin "
            "(`POST /api/v1/keys`); each belongs to a tenant and holds scopes: `predict`, "
            "`batch`, `report`, `feedback`, `read` (the tenant's own jobs), `monitor` "
            "(platform-wide model monitoring), `metrics`, `admin` (every scope, every "
            "tenant's jobs, the keys). A missing, unknown, revoked or expired key is 401; "
            "a key lacking the operation's scope is 403; another tenant's job is 404."
        ),
    }
}
INVALID = problem_response("invalid fields or parameters, each named in `errors`")
MALFORMED = problem_response("the body is not JSON, or is nested too deeply")
NOT_JSON = problem_response("the body is not application/json")
TOO_LARGE = problem_response("the body is too large")


def instance_schema(schema: FeatureSchema | None) -> dict[str, Any]:
    """JSON Schema of one instance, from the model's feature schema."""
    if schema is None:
        return {"type": "object", "additionalProperties": True}
    props: dict[str, Any] = {
        "id": {
            "anyOf": [{"type": "string", "maxLength": MAX_ID_LENGTH}, {"type": "integer"}],
            "description": "optional client id, echoed back",
        }
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


def default_schema(svc: Services) -> FeatureSchema | None:
    """The default model version's feature schema (None when no model is installed)."""
    try:
        return svc.catalog.schema(svc.catalog.default_version())
    except Exception:  # noqa: BLE001 — without a model the document still describes the API
        return None


def components(svc: Services) -> dict[str, Any]:
    return {
        "schemas": {
            "Instance": instance_schema(default_schema(svc)),
            "Job": JOB,
            "JobSummary": JOB_SUMMARY,
            "Problem": PROBLEM,
        },
        "securitySchemes": SECURITY_SCHEMES,
    }


def model_versions(svc: Services) -> dict[str, Any]:
    """A ``model_version`` field: an installed version (the default when absent). Neither
    an enum nor examples: a version registered a moment ago is looked for in the model
    store by the route (``Catalog.resolve``), which answers 422 for one that is not there;
    the ones installed when the document was made are named in its description."""
    versions = svc.catalog.versions()
    named = f" (installed: {', '.join(versions)})" if versions else ""
    return {"type": "string", "description": f"an installed model version{named}"}


def installed_versions(svc: Services) -> dict[str, Any]:
    """A field naming an installed version, the model store listed again to check it (the
    traffic policy's fields: an admin's rare change, not every prediction)."""
    versions = svc.catalog.versions(fresh=True)
    schema: dict[str, Any] = {"type": "string", "description": "an installed model version"}
    return {**schema, "enum": versions} if versions else schema
