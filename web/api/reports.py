"""The contract of ``POST /api/v1/reports`` and ``GET /api/v1/jobs/{job_id}/report``."""

from __future__ import annotations

from typing import Any

from core.apikeys import Scope
from core.jobs import JobType
from web.api.common import CALLBACK_URL, CALLBACK_URL_PARAM, IDEMPOTENCY_KEY, WAIT
from web.api.components import (
    MALFORMED,
    QUOTA,
    STORAGE_QUOTA,
    UNAVAILABLE,
    job_response,
    model_versions,
    problem_response,
)
from web.api.contract import JSON, Operation, Param
from web.services import Services
from web.uploads import CSV_TYPES, FILE_FIELD

REPORT_TYPES = {
    "drift": JobType.DRIFT_REPORT,
    "performance": JobType.PERFORMANCE_REPORT,
    "comparison": JobType.COMPARISON_REPORT,
}
COMPARISON = "comparison"  # compares two versions on the log: never from an upload
TYPE = {"type": "string", "enum": list(REPORT_TYPES)}
UPLOAD_TYPE = {"type": "string", "enum": [t for t in REPORT_TYPES if t != COMPARISON]}
BINARY = {"type": "string", "format": "binary"}
DATE_TIME = {"type": "string", "format": "date-time"}
FORM = "multipart/form-data"


def window_limits(svc: Services, report_type: str) -> tuple[int, int]:
    """The fewest and most rows a ``{"last": N}`` window of this report type may ask for."""
    s = svc.settings
    kept = s.feedback_max_labelled if report_type == "performance" else s.prediction_log_maxlen
    return s.report_min_rows, min(s.report_max_rows, kept)


def _last(svc: Services, report_type: str) -> dict[str, Any]:
    low, high = window_limits(svc, report_type)
    return {"type": "integer", "minimum": low, "maximum": high}


INSTEAD = "a comparison names a baseline and a candidate instead"
ONLY = "only a comparison report names a baseline and a candidate"


def _refused(why: str) -> dict[str, Any]:
    """A field no value of which is valid here (``why`` is the error's message)."""
    return {"not": {}, "description": why}


def _json(svc: Services) -> dict[str, Any]:
    window = {
        "description": 'must be {"last": N} or {"since": date-time, "until": date-time}',
        "oneOf": [
            {
                "type": "object",
                "required": ["last"],
                "additionalProperties": False,
                "properties": {"last": _last(svc, "drift")},
            },
            {
                "type": "object",
                "required": ["since"],
                "additionalProperties": False,
                "properties": {"since": DATE_TIME, "until": DATE_TIME},
            },
        ],
    }
    schema: dict[str, Any] = {
        "type": "object",
        "required": ["type", "window"],
        "additionalProperties": False,
        "properties": {
            "type": TYPE,
            "window": window,
            "model_version": model_versions(svc),
            "baseline": model_versions(svc),
            "candidate": model_versions(svc),
            "callback_url": CALLBACK_URL,
        },
        "allOf": [
            {
                "if": {"required": ["type"], "properties": {"type": {"const": COMPARISON}}},
                "then": {
                    "required": ["baseline", "candidate"],
                    "properties": {"model_version": _refused(INSTEAD)},
                },
                "else": {"properties": {"baseline": _refused(ONLY), "candidate": _refused(ONLY)}},
            }
        ],
    }
    if window_limits(svc, "performance") != window_limits(svc, "drift"):
        schema["allOf"].append(
            {
                "if": {"properties": {"type": {"const": "performance"}}},
                "then": {
                    "properties": {"window": {"properties": {"last": _last(svc, "performance")}}}
                },
            }
        )
    return schema


def _form(svc: Services) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [FILE_FIELD, "type"],
        "additionalProperties": False,
        "properties": {
            FILE_FIELD: BINARY,
            "type": UPLOAD_TYPE,
            "model_version": model_versions(svc),
            "callback_url": CALLBACK_URL,
        },
    }


CSV_ONLY = "read only with a CSV body"
CREATE_REPORT = Operation(
    summary="Queue a drift, performance or comparison report job",
    description=(
        "Current data: the last N logged predictions of a model version "
        '(`{"last": N}`), those made in a time range (`{"since": …, "until": …}`, RFC 3339; '
        "`until` defaults to now and must be later than `since`), or an uploaded CSV "
        "(multipart field `file` with form fields `type` and `model_version`, or a "
        "`text/csv` body with them as query parameters, `type` required there). The CSV "
        "needs a header naming every feature (and the target, for a performance report) "
        "and at least one row. A performance report reads predictions that have feedback. "
        "Reference data: the model version's reference sample. The job's result holds a "
        "JSON summary; the Evidently HTML is at `GET /api/v1/jobs/{job_id}/report`. A "
        "window of the prediction log holds every tenant's predictions: it needs the "
        "`monitor` scope as well (403 without). A comparison report (JSON only) names a "
        "`baseline` and a `candidate` version instead of `model_version` and pairs their "
        "predictions of the same instances in the window (a primary prediction and its "
        "shadow share a prediction id): agreement rate, each version's accuracy on the "
        "pairs with feedback (Wilson 95% intervals), and the difference in class shares."
    ),
    tags=("reports",),
    scopes=(Scope.REPORT,),
    params=(
        WAIT,
        IDEMPOTENCY_KEY,
        Param("type", "query", UPLOAD_TYPE, f"the report type, {CSV_ONLY} (required there)"),
        Param("model_version", "query", model_versions, f"default: the default; {CSV_ONLY}"),
        CALLBACK_URL_PARAM,
    ),
    bodies={
        JSON: _json,
        FORM: _form,
        **dict.fromkeys(CSV_TYPES, BINARY),
    },
    examples={JSON: {"type": "drift", "window": {"last": 1000}}},
    responses={
        "200": job_response(
            "the job finished within `wait` (or a retry with the same Idempotency-Key: its job)"
        ),
        "202": job_response("the job is queued or running; poll `Location`"),
        "400": MALFORMED,
        "409": problem_response("Idempotency-Key already used with another body or file"),
        "413": STORAGE_QUOTA,
        "415": problem_response("neither JSON, CSV nor multipart/form-data"),
        "422": problem_response(
            "invalid fields or parameters (type, window, model version, the CSV's header and "
            "columns), each named in `errors`"
        ),
        "429": QUOTA,
        "503": UNAVAILABLE,
    },
)

GET_REPORT = Operation(
    summary="A report job's Evidently HTML",
    tags=("reports",),
    scopes=(Scope.READ,),
    responses={
        "200": {"description": "the report", "content": {"text/html": {"schema": {}}}},
        "404": problem_response(
            "unknown job (or another tenant's), not a report job, or its report expired"
        ),
        "409": problem_response("the job has not succeeded (yet)"),
        "503": UNAVAILABLE,
    },
)
