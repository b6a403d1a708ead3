"""``POST /api/v1/batches``: stream a CSV or Parquet file to disk, check its header, queue a job.

The body (``text/csv``, ``application/vnd.apache.parquet``, or
``multipart/form-data`` with the file in ``file``) is streamed to the storage
root; only its header line (a Parquet file: its footer's schema) is read here.
A file lacking a feature column, or naming an ``id_column`` it does not have,
is refused with 422 and nothing is queued. The job's ``progress.total`` starts
as an estimate from a CSV's size and its first lines (a Parquet file's row
count is exact); the worker replaces it with the line count when it starts.

With an ``Idempotency-Key``, the file's sha256 is computed while it streams in;
the key is reserved atomically with the job's creation, so of two uploads with
one key exactly one makes a job. The other (a retry) gets that job back and its
own copy of the file is deleted; a different file or different parameters with
the same key is 409.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

from flask import Blueprint, Response, request

from core import batch_files as files
from core.errors import InvalidRequest
from core.jobs import JobType
from core.queue import SCORE_BATCH_TASK
from ml.batch.columns import reserved_columns
from telemetry import metrics
from web.bodies import idempotency_key
from web.openapi import JOB_REF, problem_response
from web.responses import job_response, replayed_job_response
from web.services import Services, services
from web.uploads import (
    PARQUET,
    PARQUET_TYPES,
    Header,
    Upload,
    discard,
    read_header,
    read_parquet_header,
    receive,
)

bp = Blueprint("batches", __name__, url_prefix="/api/v1")


@bp.post("/batches")
def create_batch() -> Response:
    svc = services()
    s = svc.settings
    key = idempotency_key()
    s.uploads_dir.mkdir(parents=True, exist_ok=True)
    incoming = files.incoming_path(s)
    try:
        upload = receive(incoming, s.max_upload_bytes, digest=key is not None)
        params = {**request.args.to_dict(), **upload.fields}
        requested_version = params.get("model_version") or None
        version = svc.catalog.resolve(requested_version)
        if upload.format == PARQUET:
            header = read_parquet_header(incoming)
        else:
            header = read_header(incoming, upload.size)
        id_column = params.get("id_column") or None
        _check_columns(svc, version, header, id_column)
        fingerprint = _fingerprint(upload, id_column, requested_version) if key else None
        job_id, created = svc.store.create(
            JobType.BATCH,
            params={
                "columns": header.columns,
                "id_column": id_column,
                "data_start": header.data_start,
                "bytes": upload.size,
                "filename": upload.filename,
                "format": upload.format,
            },
            model_version=version,
            total=header.estimated_rows,
            idempotency_key=key,
            fingerprint=fingerprint,
        )
        if created:
            os.replace(incoming, files.upload_path(s, job_id, upload.format))
    finally:  # a refused upload, or the copy of a retried one (gone already once renamed)
        discard(incoming)
    if not created:
        return replayed_job_response(
            svc.store.get(job_id), fingerprint, "file or different parameters"
        )
    try:
        svc.publish(SCORE_BATCH_TASK, job_id, key)
    except BaseException:
        files.remove_all(s, job_id)
        raise
    metrics.JOBS_SUBMITTED.labels(JobType.BATCH.value).inc()
    metrics.BATCH_UPLOAD_BYTES.inc(upload.size)
    return job_response(svc.store.get(job_id))


def _fingerprint(upload: Upload, id_column: str | None, model_version: str | None) -> str:
    """What makes two uploads the same request: the file's bytes and the parameters."""
    request_ = {
        "sha256": upload.sha256,
        "format": upload.format,
        "id_column": id_column,
        "model_version": model_version,
    }
    return hashlib.sha256(json.dumps(request_, sort_keys=True).encode()).hexdigest()


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
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "maxLength": 255},
            "description": (
                "the same key within the job TTL, with the same file and parameters, returns "
                "the same job (and keeps no second copy of the file); with a different file "
                "or parameters it is 409"
            ),
        },
    ]


_BINARY = {"schema": {"type": "string", "format": "binary"}}

OPENAPI_PATHS: dict[str, Any] = {
    "/api/v1/batches": {
        "post": {
            "summary": "Upload a CSV or Parquet file for bulk scoring (a batch job)",
            "description": (
                "A CSV file needs a header line naming every feature column; a Parquet file, "
                "a (flat) column of each feature's name. Other columns are carried through to "
                "the scored file. A Parquet file is sent as `application/vnd.apache.parquet` "
                "(or `application/x-parquet`), or as the multipart `file` with that content "
                "type or a name ending in `.parquet`. `model_version` and `id_column` may also "
                "be sent as multipart form fields. Follow the job at `Location`; download the "
                "scored file from `/api/v1/jobs/{job_id}/result` once it has succeeded."
            ),
            "parameters": _upload_params(),
            "requestBody": {
                "required": True,
                "content": {
                    "text/csv": _BINARY,
                    **dict.fromkeys(PARQUET_TYPES, _BINARY),
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
                "200": {
                    "description": (
                        "a retry with the same Idempotency-Key: the job it made, finished "
                        "(`Idempotent-Replayed: true`)"
                    ),
                    "content": {"application/json": {"schema": JOB_REF}},
                },
                "202": {
                    "description": (
                        "the batch job is queued; poll `Location` (also a retry with the same "
                        "Idempotency-Key while its job has not finished)"
                    ),
                    "content": {"application/json": {"schema": JOB_REF}},
                },
                "409": problem_response(
                    "Idempotency-Key already used with a different file or parameters"
                ),
                "413": problem_response("the file is larger than the upload limit"),
                "415": problem_response("neither text/csv, a Parquet type nor multipart/form-data"),
                "422": problem_response(
                    "no CSV header (or not Parquet), missing feature columns, nested Parquet "
                    "columns or unknown id column, each named"
                ),
                "503": problem_response("Redis unreachable or no model installed"),
            },
        }
    },
    "/api/v1/jobs/{job_id}/result": {
        "get": {
            "summary": "A batch job's scored file (CSV, or Parquet when asked), streamed",
            "parameters": [
                {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}},
                {
                    "name": "format",
                    "in": "query",
                    "required": False,
                    "schema": {"type": "string", "enum": ["csv", "parquet"]},
                    "description": (
                        "file format; without it, `Accept: application/vnd.apache.parquet` "
                        "asks for Parquet, anything else gets CSV"
                    ),
                },
            ],
            "responses": {
                "200": {
                    "description": (
                        "id column (or `row`), carried-through columns, `prediction`, one "
                        "`proba_<class>` column per class, `error` (empty for scored rows; "
                        "null in Parquet, where carried-through columns are text and "
                        "probabilities doubles)"
                    ),
                    "content": {
                        "text/csv": {"schema": {"type": "string"}},
                        "application/vnd.apache.parquet": _BINARY,
                    },
                },
                "404": problem_response("unknown or expired job, or not a batch job"),
                "409": problem_response("the job has not succeeded"),
                "422": problem_response("`format` is neither csv nor parquet"),
            },
        }
    },
}
