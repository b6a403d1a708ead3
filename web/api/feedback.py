"""The contract of ``POST /api/v1/feedback``."""

from __future__ import annotations

from typing import Any

from core.apikeys import Scope
from web.api.components import (
    INVALID,
    MALFORMED,
    NOT_JSON,
    TOO_LARGE,
    UNAVAILABLE,
    json_response,
)
from web.api.contract import JSON, Operation
from web.services import Services

MAX_PREDICTION_ID = 200  # characters of a prediction id


def class_labels(svc: Services) -> list[str]:
    """Class labels of every installed model version (feedback may concern any of them)."""
    labels: list[str] = []
    for version in svc.catalog.versions():
        for label in svc.catalog.schema(version).class_labels:
            if label not in labels:
                labels.append(label)
    return labels


def _body(svc: Services) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items"],
        "additionalProperties": False,
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": svc.settings.feedback_max_items,
                "items": {
                    "type": "object",
                    "required": ["prediction_id", "actual"],
                    "additionalProperties": False,
                    "properties": {
                        "prediction_id": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": MAX_PREDICTION_ID,
                        },
                        "actual": {
                            "type": "string",
                            "enum": class_labels(svc),
                            "description": "a class label of an installed model version",
                        },
                    },
                },
            }
        },
    }


_COUNT = {"type": "integer", "minimum": 0}
_STRINGS = {"type": "array", "items": {"type": "string"}}
POST_FEEDBACK = Operation(
    summary="Ground truth for logged predictions",
    description=(
        "Joins each item to its logged prediction by `prediction_id` (as returned in a "
        "prediction job's result). Ids that are unknown (never logged, or older than the "
        "feedback retention) are counted and listed; an id that already has feedback counts "
        "as a duplicate and is not recorded again. Only the predictions of the key's tenant "
        "can receive its feedback: another tenant's prediction id counts as unknown. The "
        "rolling accuracy per model version is exported as `ml_model_accuracy`."
    ),
    tags=("feedback",),
    scopes=(Scope.FEEDBACK,),
    bodies={JSON: _body},
    examples={JSON: {"items": [{"prediction_id": "…", "actual": "survived"}]}},
    responses={
        "200": json_response(
            "recorded",
            {
                "type": "object",
                "properties": {
                    "received": _COUNT,
                    "accepted": _COUNT,
                    "duplicate": _COUNT,
                    "unknown": _COUNT,
                    "unknown_ids": _STRINGS,
                    "model_versions": _STRINGS,
                },
            },
        ),
        "400": MALFORMED,
        "413": TOO_LARGE,
        "415": NOT_JSON,
        "422": INVALID,
        "503": UNAVAILABLE,
    },
)
