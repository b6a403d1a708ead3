"""``POST /api/v1/batches``: stream a CSV to disk, check its header, queue a batch job.

The body (``text/csv``, or ``multipart/form-data`` with the file in ``file``)
is streamed to the storage root; only its header line is read here. A file
lacking a feature column, or naming an ``id_column`` it does not have, is
refused with 422 and nothing is queued. The job's ``progress.total`` starts as
an estimate from the file's size and its first lines; the worker replaces it
with the file's line count as soon as it starts.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Blueprint, Response, jsonify, request

from core import batch_files as files
from core.errors import InvalidRequest
from core.jobs import JobType
from core.queue import SCORE_BATCH_TASK
from ml.batch_columns import reserved_columns
from monitoring.metrics import BATCH_UPLOAD_BYTES, JOBS_SUBMITTED
from web.openapi import JOB_REF, problem_response
from web.services import Services, services
from web.uploads import Header, discard, read_header, receive

bp = Blueprint("batches", __name__, url_prefix="/api/v1")


@bp.post("/batches")
def create_batch() -> Response:
    svc = services()
    s = svc.settings
    s.uploads_dir.mkdir(parents=True, exist_ok=True)
    incoming = files.incoming_path(s)
    try:
        upload = receive(incoming, s.max_upload_bytes)
        params = {**request.args.to_dict(), **upload.fields}
        version = svc.catalog.resolve(params.get("model_version") or None)
        header = read_header(incoming, upload.size)
        id_column = params.get("id_column") or None
        _check_columns(svc, version, header, id_column)
    except BaseException:
        discard(incoming)
        raise
    job_id, _ = svc.store.create(
        JobType.BATCH,
        params={
            "columns": header.columns,
            "id_column": id_column,
            "data_start": header.data_start,
            "bytes": upload.size,
            "filename": upload.filename,
        },
        model_version=version,
        total=header.estimated_rows,
    )
    os.replace(incoming, files.upload_path(s, job_id))
    try:
        svc.publish(SCORE_BATCH_TASK, job_id)
    except BaseException:
        files.remove_all(s, job_id)
        raise
    JOBS_SUBMITTED.labels(JobType.BATCH.value).inc()
    BATCH_UPLOAD_BYTES.inc(upload.size)
    resp = jsonify(svc.store.get(job_id).to_resource())
    resp.status_code = 202
    resp.headers["Location"] = f"/api/v1/jobs/{job_id}"
    return resp


def _check_columns(svc: Services, version: str, header: Header, id_column: str | None) -> None:
    """422 naming every problem: missing features, duplicates, an unknown id column, clashes."""
    schema = svc.catalog.schema(version)
    columns = header.columns
    errors: list[dict[str, Any]] = []
    for name in schema.feature_names:
        if name not in columns:
            errors.append({"loc": ["file", "columns", name], "msg": "required column missing"})
    seen: set[str] = set()
    for name in columns:
        if name in seen:
            errors.append({"loc": ["file", "columns", name], "msg": "duplicate column"})
        seen.add(name)
    if id_column is not None and id_column not in columns:
        errors.append({"loc": ["id_column"], "msg": f"no column {id_column!r} in the file"})
    if id_column is not None and id_column in schema.feature_names:
        errors.append({"loc": ["id_column"], "msg": "a feature cannot be the id column"})
    reserved = reserved_columns(schema.class_labels, with_row=id_column is None)
    for name in columns:
        if name in reserved:
            errors.append(
                {
                    "loc": ["file", "columns", name],
                    "msg": "the scored file has a column of this name; rename it",
                }
            )
    if errors:
        missing = [e["loc"][-1] for e in errors if e["msg"] == "required column missing"]
        detail = (
            f"the file lacks required column(s): {', '.join(missing)}"
            if missing
            else f"{len(errors)} problem(s) with the file's columns"
        )
        raise InvalidRequest(detail, errors=errors)


def _upload_params() -> list[dict[str, Any]]:
    return [
        {
            "name": "model_version",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "model version to score with (default: the default version)",
        },
        {
            "name": "id_column",
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "input column copied first into the scored file (default: `row`)",
        },
    ]


OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/batches": {
        "post": {
            "summary": "Upload a CSV file for bulk scoring (a batch job)",
            "description": (
                "The file needs a header line naming every feature column; other columns are "
                "carried through to the scored file. `model_version` and `id_column` may also "
                "be sent as multipart form fields. Follow the job at `Location`; download the "
                "scored file from `/api/v1/jobs/{job_id}/result` once it has succeeded."
            ),
            "parameters": _upload_params(),
            "requestBody": {
                "required": True,
                "content": {
                    "text/csv": {"schema": {"type": "string", "format": "binary"}},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "model_version": {"type": "string"},
                                "id_column": {"type": "string"},
                            },
                        }
                    },
                },
            },
            "responses": {
                "202": {
                    "description": "the batch job is queued; poll `Location`",
                    "content": {"application/json": {"schema": JOB_REF}},
                },
                "413": problem_response("the file is larger than the upload limit"),
                "415": problem_response("neither text/csv nor multipart/form-data"),
                "422": problem_response(
                    "no CSV header, missing feature columns or unknown id column, each named"
                ),
                "503": problem_response("Redis unreachable or no model installed"),
            },
        }
    },
    "/api/v1/jobs/{job_id}/result": {
        "get": {
            "summary": "A batch job's scored file (CSV), streamed",
            "parameters": [
                {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {
                    "description": (
                        "id column (or `row`), carried-through columns, `prediction`, one "
                        "`proba_<class>` column per class, `error` (empty for scored rows)"
                    ),
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                "404": problem_response("unknown or expired job, or not a batch job"),
                "409": problem_response("the job has not succeeded"),
            },
        }
    },
}
