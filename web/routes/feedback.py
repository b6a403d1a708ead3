"""``POST /api/v1/feedback``: ground truth for logged predictions, joined by ``prediction_id``."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, jsonify
from kombu.exceptions import OperationalError

from core import stores
from core.errors import InvalidRequest
from core.queue import UPDATE_ACCURACY_TASK
from web.bodies import json_body
from web.services import Services, services

log = logging.getLogger(__name__)
bp = Blueprint("feedback", __name__, url_prefix="/api/v1")
MAX_PREDICTION_ID = 200  # characters of a prediction id
MAX_UNKNOWN_LISTED = 100  # unknown ids echoed back in the answer
ITEM_KEYS = ("prediction_id", "actual")


@bp.post("/feedback")
def post_feedback() -> Response:
    svc = services()
    body, _ = json_body(svc.settings.max_json_bytes)
    items = _validate(svc, body)
    store = stores.feedback_store(svc.settings, svc.store.redis)
    store.catch_up()
    result = store.record(items)
    if result.model_versions:
        _refresh_accuracy(svc, result.model_versions)
    return jsonify(
        {
            "received": len(items),
            "accepted": result.accepted,
            "duplicate": result.duplicate,
            "unknown": result.unknown,
            "unknown_ids": result.unknown_ids[:MAX_UNKNOWN_LISTED],
            "model_versions": result.model_versions,
        }
    )


def _refresh_accuracy(svc: Services, versions: list[str]) -> None:
    """Ask a worker to update the accuracy gauges now (beat does it anyway, later)."""
    try:
        svc.celery.send_task(UPDATE_ACCURACY_TASK, args=[versions])
    except (OperationalError, OSError) as exc:  # the feedback is stored: do not fail the request
        log.warning("could not queue the accuracy update: %s", exc)


def _labels(svc: Services) -> list[str]:
    """Class labels of every installed model version (feedback may concern any of them)."""
    labels: list[str] = []
    for version in svc.catalog.registry.versions():
        for label in svc.catalog.schema(version).class_labels:
            if label not in labels:
                labels.append(label)
    return labels


def _validate(svc: Services, body: Any) -> list[tuple[str, str]]:
    if not isinstance(body, dict):
        raise InvalidRequest(
            "the body must be a JSON object", errors=[{"loc": ["body"], "msg": "must be an object"}]
        )
    errors: list[dict[str, Any]] = [
        {"loc": [k], "msg": "unknown field"} for k in body if k != "items"
    ]
    items = body.get("items")
    limit = svc.settings.feedback_max_items
    if "items" not in body:
        errors.append({"loc": ["items"], "msg": "field required"})
    elif not isinstance(items, list) or not 1 <= len(items) <= limit:
        errors.append({"loc": ["items"], "msg": f"must be a list of 1 to {limit} items"})
    if errors:
        raise InvalidRequest(f"{len(errors)} invalid field(s)", errors=errors)
    labels = _labels(svc)
    out: list[tuple[str, str]] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append({"loc": ["items", i], "msg": "must be an object"})
            continue
        errors += [
            {"loc": ["items", i, k], "msg": "unknown field"} for k in item if k not in ITEM_KEYS
        ]
        pid = item.get("prediction_id")
        actual = item.get("actual")
        if not isinstance(pid, str) or not 1 <= len(pid) <= MAX_PREDICTION_ID:
            errors.append(
                {
                    "loc": ["items", i, "prediction_id"],
                    "msg": f"must be a string of 1 to {MAX_PREDICTION_ID} characters",
                }
            )
        if not isinstance(actual, str) or actual not in labels:
            errors.append(
                {"loc": ["items", i, "actual"], "msg": f"must be one of {', '.join(labels)}"}
            )
        out.append((pid, actual))
    if errors:
        raise InvalidRequest(f"{len(errors)} invalid field(s)", errors=errors)
    return out


OPENAPI_PATHS: dict[str, Any] = {  # merged into /openapi.json
    "/api/v1/feedback": {
        "post": {
            "tags": ["feedback"],
            "summary": "Ground truth for logged predictions",
            "description": (
                "Joins each item to its logged prediction by `prediction_id` (as returned in "
                "a prediction job's result). Ids that are unknown (never logged, or older "
                "than the feedback retention) are counted and listed; an id that already "
                "has feedback counts as a duplicate and is not recorded again. The rolling "
                "accuracy per model version is exported as `ml_model_accuracy`."
            ),
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["items"],
                            "additionalProperties": False,
                            "properties": {
                                "items": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["prediction_id", "actual"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "prediction_id": {"type": "string"},
                                            "actual": {
                                                "type": "string",
                                                "description": "a class label of the model",
                                            },
                                        },
                                    },
                                }
                            },
                        },
                        "example": {"items": [{"prediction_id": "…", "actual": "survived"}]},
                    }
                },
            },
            "responses": {
                "200": {
                    "description": "Recorded",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "received": {"type": "integer"},
                                    "accepted": {"type": "integer"},
                                    "duplicate": {"type": "integer"},
                                    "unknown": {"type": "integer"},
                                    "unknown_ids": {"type": "array", "items": {"type": "string"}},
                                    "model_versions": {
                                        "type": "array",
                                        "items": {"type": "string"},
                                    },
                                },
                            }
                        }
                    },
                },
                "400": {"description": "Malformed JSON"},
                "415": {"description": "Not JSON"},
                "422": {"description": "Invalid fields, each one named"},
                "503": {"description": "Redis cannot be reached"},
            },
        }
    }
}
