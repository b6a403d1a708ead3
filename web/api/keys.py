"""The contract of ``/api/v1/keys``: API keys, made, listed and revoked by an admin."""

from __future__ import annotations

from typing import Any

from core.apikeys import SCOPES, TENANT_PATTERN, Scope
from core.apikeys.model import NAME_MAX
from web.api.common import CALLBACK_URL
from web.api.components import (
    INVALID,
    MALFORMED,
    NOT_JSON,
    TOO_LARGE,
    UNAVAILABLE,
    json_response,
    problem_response,
)
from web.api.contract import JSON, Operation

ADMIN = (Scope.ADMIN,)
MAX_COUNT = 10**15  # the largest quota a key may set (a petabyte, for bytes)
COUNT = {"type": "integer", "minimum": 0, "maximum": MAX_COUNT}
# optional limits of a key: absent (null when shown) means the platform's setting
LIMITS: dict[str, Any] = {
    "rate_limit_per_second": {
        "type": "number",
        "exclusiveMinimum": 0,
        "maximum": 1e6,
        "description": "requests per second this key may make (default: the platform's)",
    },
    "max_active_jobs": {
        **COUNT,
        "minimum": 1,
        "description": "queued + running jobs of the tenant, as this key counts them",
    },
    "max_active_batches": {
        **COUNT,
        "minimum": 1,
        "description": "batch jobs of the tenant queued or running at once",
    },
    "max_stored_bytes": {**COUNT, "description": "bytes of the tenant's uploads and results"},
}
SHOWN_LIMITS = {
    name: {**schema, "type": [schema["type"], "null"]} for name, schema in LIMITS.items()
}
KEY: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "tenant", "scopes", "created_at", "revoked"],
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "tenant": {"type": "string"},
        "scopes": {"type": "array", "items": {"type": "string", "enum": list(SCOPES)}},
        "created_at": {"type": "string", "format": "date-time"},
        "last_used_at": {"type": ["string", "null"], "format": "date-time"},
        "expires_at": {"type": ["string", "null"], "format": "date-time"},
        "revoked": {"type": "boolean"},
        **SHOWN_LIMITS,
        "callback_url": {"type": ["string", "null"], "description": "its jobs' default webhook"},
    },
}
CREATED_KEY = {
    **KEY,
    "required": [*KEY["required"], "token"],
    "properties": {
        **KEY["properties"],
        "token": {"type": "string", "description": "the secret: shown this once, never again"},
    },
}
CREATE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["name", "tenant", "scopes"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": NAME_MAX},
        "tenant": {"type": "string", "pattern": TENANT_PATTERN},
        "scopes": {
            "type": "array",
            "minItems": 1,
            "uniqueItems": True,
            "items": {"type": "string", "enum": list(SCOPES)},
        },
        "expires_at": {
            "type": "string",
            "format": "date-time",
            "description": "RFC 3339; from then on the key is refused (default: never)",
        },
        **LIMITS,
        "callback_url": {
            **CALLBACK_URL,
            "description": "the webhook of the jobs this key makes that name no callback_url",
        },
    },
}

CREATE_KEY = Operation(
    summary="Make an API key (its token is in this answer only)",
    description=(
        "Only the SHA-256 of the token is stored: keep the token, it cannot be shown again. "
        "`tenant` owns every job, file, label and idempotency key the key makes."
    ),
    tags=("keys",),
    scopes=ADMIN,
    bodies={JSON: CREATE_BODY},
    examples={JSON: {"name": "acme scoring", "tenant": "acme", "scopes": ["predict", "read"]}},
    responses={
        "201": json_response("the key, with its token", CREATED_KEY),
        "400": MALFORMED,
        "413": TOO_LARGE,
        "415": NOT_JSON,
        "422": INVALID,
        "503": UNAVAILABLE,
    },
)
LIST_KEYS = Operation(
    summary="Every API key, without secrets (revoked and expired ones too)",
    tags=("keys",),
    scopes=ADMIN,
    responses={
        "200": json_response(
            "the keys, oldest first",
            {
                "type": "object",
                "required": ["keys"],
                "properties": {"keys": {"type": "array", "items": KEY}},
            },
        ),
        "503": UNAVAILABLE,
    },
)
REVOKE_KEY = Operation(
    summary="Revoke an API key: every web process refuses it within a second",
    tags=("keys",),
    scopes=ADMIN,
    responses={
        "200": json_response("the revoked key", KEY),
        "404": problem_response("no API key with this id"),
        "409": problem_response("a key cannot revoke itself (use another admin key)"),
        "503": UNAVAILABLE,
    },
)
