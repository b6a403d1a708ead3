"""``POST /api/v1/reports``: queue a drift or performance report job on the ``reports`` queue.

Current data is a window of the prediction log (``{"last": N}`` or
``{"since": …, "until": …}``) of one model version, or an uploaded CSV
(multipart field ``file``, or a ``text/csv`` body with ``type`` and
``model_version`` as query parameters). Reference data is the version's
reference sample. The worker builds the Evidently report; the HTML is served at
``GET /api/v1/jobs/{id}/report`` and the job's result holds a JSON summary.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, request

from core.errors import InvalidRequest, PayloadTooLarge
from core.jobs import JobType
from core.queue import BUILD_REPORT_TASK
from telemetry import metrics
from web.bodies import json_body, wait_seconds
from web.responses import job_response
from web.services import Services, services
from web.uploads import read_header

bp = Blueprint("reports", __name__, url_prefix="/api/v1")
REPORT_TYPES = {"drift": JobType.DRIFT_REPORT, "performance": JobType.PERFORMANCE_REPORT}
ALLOWED_KEYS = ("type", "window", "model_version")
CSV_TYPES = ("text/csv", "application/csv")
COPY_CHUNK = 1 << 20  # bytes copied at a time from an upload to disk


@bp.post("/reports")
def create_report() -> Response:
    svc = services()
    wait = wait_seconds(svc.settings.max_wait_seconds)
    mimetype = request.mimetype or ""
    if mimetype == "multipart/form-data" or mimetype in CSV_TYPES:
        params, version, total = _from_upload(svc, mimetype)
    else:
        body, _ = json_body(svc.settings.max_json_bytes)
        params, version, total = _from_json(svc, body)
    job_type = REPORT_TYPES[params["type"]]
    job_id, _ = svc.store.create(job_type, params=params, model_version=version, total=total)
    metrics.JOBS_SUBMITTED.labels(job_type.value).inc()
    try:
        svc.publish(BUILD_REPORT_TASK, job_id)
    except Exception:
        if params.get("upload"):
            Path(params["upload"]).unlink(missing_ok=True)
        raise
    job = svc.wait(job_id, wait) if wait > 0 else svc.store.get(job_id)
    return job_response(job)


# --- JSON: a window of the prediction log ---------------------------------------------------
def _from_json(svc: Services, body: Any) -> tuple[dict[str, Any], str, int]:
    if not isinstance(body, dict):
        raise InvalidRequest(
            "the body must be a JSON object", errors=[{"loc": ["body"], "msg": "must be an object"}]
        )
    errors: list[dict[str, Any]] = [
        {"loc": [k], "msg": "unknown field"} for k in body if k not in ALLOWED_KEYS
    ]
    report_type = _check_type(body.get("type"), errors, ["type"])
    version = _check_version(svc, body.get("model_version"), errors)
    window, total = _check_window(svc, report_type, body.get("window"), errors)
    if errors:
        raise InvalidRequest(f"{len(errors)} invalid field(s)", errors=errors)
    return {"type": report_type, "source": "log", "window": window}, version, total


def _check_type(value: Any, errors: list[dict[str, Any]], loc: list[Any]) -> str:
    if value is None:
        errors.append({"loc": loc, "msg": "field required"})
    elif value not in REPORT_TYPES:
        errors.append({"loc": loc, "msg": f"must be one of {', '.join(REPORT_TYPES)}"})
    return value


def _check_version(svc: Services, value: Any, errors: list[dict[str, Any]]) -> str:
    try:
        return svc.catalog.resolve(value)
    except InvalidRequest as exc:
        errors += exc.errors
        return ""


def _window_limit(svc: Services, report_type: str) -> int:
    s = svc.settings
    if report_type == "performance":  # labelled predictions kept per version
        return min(s.report_max_rows, s.feedback_max_labelled)
    return min(s.report_max_rows, s.prediction_log_maxlen)


def _check_window(
    svc: Services, report_type: str, window: Any, errors: list[dict[str, Any]]
) -> tuple[dict[str, Any], int]:
    low = svc.settings.report_min_rows
    high = _window_limit(svc, report_type)
    if window is None:
        errors.append({"loc": ["window"], "msg": "field required"})
        return {}, 0
    if not isinstance(window, dict) or not window:
        errors.append(
            {"loc": ["window"], "msg": 'must be {"last": N} or {"since": ISO time, "until": …}'}
        )
        return {}, 0
    if "last" in window:
        errors += [
            {"loc": ["window", k], "msg": "unknown field (use either last, or since/until)"}
            for k in window
            if k != "last"
        ]
        last = window["last"]
        if isinstance(last, bool) or not isinstance(last, int) or not low <= last <= high:
            errors.append(
                {"loc": ["window", "last"], "msg": f"must be an integer from {low} to {high}"}
            )
            return {}, 0
        return {"last": last}, last
    errors += [
        {"loc": ["window", k], "msg": "unknown field"}
        for k in window
        if k not in ("since", "until")
    ]
    since = _timestamp(window.get("since"), ["window", "since"], errors, required=True)
    until = _timestamp(window.get("until"), ["window", "until"], errors, required=False)
    if since is not None and until is not None and since >= until:
        errors.append({"loc": ["window", "until"], "msg": "must be later than since"})
    return {"since": since, "until": until, "max_rows": high}, 0


def _timestamp(
    value: Any, loc: list[Any], errors: list[dict[str, Any]], *, required: bool
) -> float | None:
    if value is None:
        if required:
            errors.append({"loc": loc, "msg": "field required"})
            return None
        return datetime.now(UTC).timestamp()
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        errors.append({"loc": loc, "msg": "must be an ISO 8601 date-time"})
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


# --- CSV upload: current data ------------------------------------------------------------------
def _from_upload(svc: Services, mimetype: str) -> tuple[dict[str, Any], str, int]:
    s = svc.settings
    request.max_content_length = s.max_upload_bytes
    if request.content_length is not None and request.content_length > s.max_upload_bytes:
        raise PayloadTooLarge(f"the upload is larger than {s.max_upload_bytes} bytes")
    fields = request.form if mimetype == "multipart/form-data" else request.args
    errors: list[dict[str, Any]] = [
        {"loc": ["form" if mimetype == "multipart/form-data" else "query", k], "msg": "unknown"}
        for k in fields
        if k not in ("type", "model_version", "wait")
    ]
    report_type = _check_type(fields.get("type"), errors, ["type"])
    version = _check_version(svc, fields.get("model_version"), errors)
    if mimetype == "multipart/form-data" and "file" not in request.files:
        errors.append({"loc": ["file"], "msg": "field required (the CSV file)"})
    if errors:
        raise InvalidRequest(f"{len(errors)} invalid field(s)", errors=errors)
    s.uploads_dir.mkdir(parents=True, exist_ok=True)
    path = s.uploads_dir / f"report-{uuid.uuid4()}.csv"
    try:
        if mimetype == "multipart/form-data":
            request.files["file"].save(path)
        else:
            _copy_body(path, s.max_upload_bytes)
        _check_header(svc, path, report_type, version)
    except Exception:
        path.unlink(missing_ok=True)
        raise
    return (
        {"type": report_type, "source": "upload", "upload": str(path.resolve())},
        version,
        0,
    )


def _copy_body(path: Path, limit: int) -> None:
    size = 0
    with path.open("wb") as out:
        while chunk := request.stream.read(COPY_CHUNK):
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"the upload is larger than {limit} bytes")
            out.write(chunk)


def _check_header(svc: Services, path: Path, report_type: str, version: str) -> None:
    columns = read_header(path, path.stat().st_size).columns  # 422 unless a CSV header line
    needed = list(svc.catalog.schema(version).feature_names)
    if report_type == "performance":
        needed.append(svc.catalog.registry.card(version).get("target", "target"))
    missing = [c for c in needed if c not in columns]
    if missing:
        raise InvalidRequest(
            f"the CSV lacks {len(missing)} column(s)",
            errors=[{"loc": ["file", c], "msg": "column required"} for c in missing],
        )


_JOB = {"$ref": "#/components/schemas/Job"}
OPENAPI_PATHS: dict[str, Any] = {  # merged into /openapi.json
    "/api/v1/reports": {
        "post": {
            "tags": ["reports"],
            "summary": "Queue a drift or performance report job",
            "description": (
                "Current data: the last N logged predictions of a model version "
                '(`{"last": N}`), those made in a time range (`{"since": …, "until": …}`, '
                "ISO 8601; `until` defaults to now), or an uploaded CSV (multipart field "
                "`file` with form fields `type` and `model_version`, or a `text/csv` body "
                "with them as query parameters). A performance report reads predictions "
                "that have feedback (or an uploaded CSV with the target column). Reference "
                "data: the model version's reference sample. The job's result holds a JSON "
                "summary (drift: dataset drift, share of drifted features, and per feature "
                "method, score, threshold, drifted); the Evidently HTML is at "
                "`GET /api/v1/jobs/{id}/report`."
            ),
            "parameters": [
                {
                    "name": "wait",
                    "in": "query",
                    "schema": {"type": "number", "minimum": 0, "maximum": 30},
                    "description": "wait up to S seconds for the job to finish",
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["type", "window"],
                            "additionalProperties": False,
                            "properties": {
                                "type": {"type": "string", "enum": list(REPORT_TYPES)},
                                "window": {
                                    "oneOf": [
                                        {
                                            "type": "object",
                                            "required": ["last"],
                                            "properties": {"last": {"type": "integer"}},
                                        },
                                        {
                                            "type": "object",
                                            "required": ["since"],
                                            "properties": {
                                                "since": {"type": "string", "format": "date-time"},
                                                "until": {"type": "string", "format": "date-time"},
                                            },
                                        },
                                    ]
                                },
                                "model_version": {"type": "string"},
                            },
                        },
                        "example": {"type": "drift", "window": {"last": 1000}},
                    },
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file", "type"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "type": {"type": "string", "enum": list(REPORT_TYPES)},
                                "model_version": {"type": "string"},
                            },
                        }
                    },
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
            "responses": {
                "202": {
                    "description": "Queued",
                    "headers": {"Location": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": _JOB}},
                },
                "200": {
                    "description": "Finished within `wait`",
                    "content": {"application/json": {"schema": _JOB}},
                },
                "413": {"description": "Upload too large"},
                "422": {"description": "Invalid fields (type, window, model version, columns)"},
                "503": {"description": "Redis cannot be reached"},
            },
        }
    },
    "/api/v1/jobs/{job_id}/report": {
        "get": {
            "tags": ["reports"],
            "summary": "The report job's Evidently HTML",
            "parameters": [
                {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {"description": "The report", "content": {"text/html": {}}},
                "404": {"description": "Unknown job, not a report job, or report expired"},
                "409": {"description": "The job has not succeeded (yet)"},
            },
        }
    },
}
