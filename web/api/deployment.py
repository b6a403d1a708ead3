"""The contract of ``/api/v1/deployment``: the traffic policy, its changes and their audit."""

from __future__ import annotations

from typing import Any

from core.apikeys import Scope
from core.deployment import HISTORY_MAX
from web.api.components import (
    INVALID,
    MALFORMED,
    NOT_JSON,
    TOO_LARGE,
    UNAVAILABLE,
    installed_versions,
    json_response,
    problem_response,
)
from web.api.contract import JSON, Operation, Param
from web.services import Services

ADMIN = (Scope.ADMIN,)
MAX_SHADOWS = 10  # shadow versions a policy may name
SHARE = {
    "type": "number",
    "minimum": 0,
    "maximum": 1,
    "description": "the fraction of requests naming no version that the canary serves",
}
VERSION_OR_NULL = {"type": ["string", "null"]}
RATE = {"type": "number", "minimum": 0, "maximum": 1}
COUNT = {"type": "integer", "minimum": 1, "maximum": 1_000_000}
GUARD: dict[str, Any] = {
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {
        "max_error_rate": {
            **RATE,
            "description": "the canary ends when more of its predictions fail than this share",
        },
        "min_accuracy": {
            **RATE,
            "description": "the canary ends when its accuracy measured on feedback is below",
        },
        "min_predictions": {
            **COUNT,
            "description": "canary predictions finished before its error rate is judged",
        },
        "min_labelled": {
            **COUNT,
            "description": "canary predictions with feedback before its accuracy is judged",
        },
    },
    "description": (
        "automatic rollback of the canary, checked by beat (absent or null: none); counts "
        "start again with every change of the policy"
    ),
}
# as a policy shows it: every field, a threshold left out as null
GUARD_SHOWN: dict[str, Any] = {
    **GUARD,
    "properties": {
        name: {**field, "type": [field["type"], "null"]}
        for name, field in GUARD["properties"].items()
    },
}
POLICY: dict[str, Any] = {
    "type": "object",
    "required": [
        "default",
        "canary",
        "shadow",
        "guard",
        "previous_default",
        "revision",
        "updated_at",
    ],
    "properties": {
        "default": {"type": "string", "description": "serves requests naming no version"},
        "canary": {
            "type": ["object", "null"],
            "required": ["version", "share"],
            "properties": {"version": {"type": "string"}, "share": SHARE},
        },
        "shadow": {
            "type": "array",
            "items": {"type": "string"},
            "description": (
                "shadow versions: each scores every prediction job off the response path, "
                "its predictions logged as shadow"
            ),
        },
        "guard": GUARD_SHOWN,
        "previous_default": {
            **VERSION_OR_NULL,
            "description": "what `POST /deployment/rollback` makes the default again",
        },
        "revision": {"type": "integer", "description": "changes made so far (0: none stored)"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
ENTRY: dict[str, Any] = {
    "type": "object",
    "required": ["at", "action", "who", "before", "after"],
    "properties": {
        "at": {"type": "string", "format": "date-time"},
        "action": {"type": "string", "enum": ["set", "promote", "rollback", "guard"]},
        "reason": {"type": "string", "description": "why the guard ended the canary"},
        "who": {
            "type": "object",
            "properties": {"key_id": {"type": "string"}, "tenant": {"type": "string"}},
        },
        "before": {"anyOf": [POLICY, {"type": "null"}]},
        "after": POLICY,
    },
}


def _put_body(svc: Services) -> dict[str, Any]:
    version = installed_versions(svc)
    return {
        "type": "object",
        "required": ["default"],
        "additionalProperties": False,
        "properties": {
            "default": version,
            "canary": {
                "type": ["object", "null"],
                "required": ["version", "share"],
                "additionalProperties": False,
                "properties": {"version": version, "share": SHARE},
                "description": "absent or null: no canary",
            },
            "shadow": {
                "type": "array",
                "maxItems": MAX_SHADOWS,
                "uniqueItems": True,
                "items": version,
                "description": "absent: none",
            },
            "guard": GUARD,
        },
    }


POLICY_ANSWER = json_response("the traffic policy", POLICY)

GET_DEPLOYMENT = Operation(
    summary="The traffic policy: default version, canary, shadow versions",
    description=(
        "With no policy stored (`revision` 0) the default is the models folder's "
        "(`DEFAULT`, else the newest version)."
    ),
    tags=("deployment",),
    scopes=ADMIN,
    responses={"200": POLICY_ANSWER, "503": UNAVAILABLE},
)
PUT_DEPLOYMENT = Operation(
    summary="Replace the traffic policy (every web process follows within a second)",
    description=(
        "Every version named must be installed. A request naming no version goes to the "
        "canary with probability `share`: by a stable hash of its first instance's `id` when "
        "it has one (the same id always gets the same version), else at random. A changed "
        "default keeps the one it replaces as `previous_default`, for a rollback."
    ),
    tags=("deployment",),
    scopes=ADMIN,
    bodies={JSON: _put_body},
    examples={JSON: {"default": "v1", "canary": {"version": "v2", "share": 0.1}, "shadow": []}},
    responses={
        "200": POLICY_ANSWER,
        "400": MALFORMED,
        "413": TOO_LARGE,
        "415": NOT_JSON,
        "422": INVALID,
        "503": UNAVAILABLE,
    },
)
PROMOTE = Operation(
    summary="Make a model version the default (the old default is kept for a rollback)",
    description="A canary of this version ends: it serves every request naming no version.",
    tags=("deployment",),
    scopes=ADMIN,
    responses={
        "200": POLICY_ANSWER,
        "404": problem_response("no installed model version by that name"),
        "503": UNAVAILABLE,
    },
)
ROLLBACK = Operation(
    summary="Make the previous default the default again, and end any canary",
    tags=("deployment",),
    scopes=ADMIN,
    responses={
        "200": POLICY_ANSWER,
        "409": problem_response("no previous default to roll back to"),
        "503": UNAVAILABLE,
    },
)
HISTORY_LIMIT = Param(
    "limit",
    "query",
    {"type": "integer", "minimum": 1, "maximum": HISTORY_MAX, "default": 50},
    "how many changes, newest first",
)
HISTORY = Operation(
    summary="The traffic policy's changes: who, when, before and after (newest first)",
    description=f"The newest {HISTORY_MAX} changes are kept.",
    tags=("deployment",),
    scopes=ADMIN,
    params=(HISTORY_LIMIT,),
    responses={
        "200": json_response(
            "the changes",
            {
                "type": "object",
                "required": ["history"],
                "properties": {"history": {"type": "array", "items": ENTRY}},
            },
        ),
        "422": INVALID,
        "503": UNAVAILABLE,
    },
)
