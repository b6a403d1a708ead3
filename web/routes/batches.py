"""``POST /api/v1/batches``: stream a CSV or Parquet file to storage, check its header, queue a job.

The body (``text/csv``, ``application/vnd.apache.parquet``, or
``multipart/form-data`` with the file in ``file``) is streamed into the store
(:mod:`core.storage`); only its header line (a Parquet file: its footer's schema) is read here.
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
from typing import Any

from flask import Blueprint, Response

from core import batch_files as files
from core.deployment import Routing
from core.errors import InvalidRequest
from core.jobs import JobType
from core.queue import SCORE_BATCH_TASK
from core.storage import layout, storage_of
from ml.batch.columns import reserved_columns
from telemetry import metrics
from web import auth
from web.api.batches import CREATE_BATCH
from web.callbacks import callback_url
from web.responses import job_response, replayed_job_response
from web.services import Services, services
from web.uploads import (
    FILE_FIELD,
    PARQUET,
    Header,
    Upload,
    read_header,
    read_parquet_header,
    receive,
)

bp = Blueprint("batches", __name__, url_prefix="/api/v1")


@bp.post("/batches")
@CREATE_BATCH
def create_batch() -> Response:
    svc = services()
    s = svc.settings
    query = CREATE_BATCH.read_params(svc)
    key = query["Idempotency-Key"]
    store = storage_of(s)
    incoming = layout.incoming()
    try:
        upload = receive(store, incoming, s.max_upload_bytes, digest=key is not None)
        params = _params(svc, query, upload)
        requested_version = params.get("model_version")
        version = svc.catalog.resolve(requested_version)
        if upload.format == PARQUET:
            header = read_parquet_header(store, incoming)
        else:
            header = read_header(store, incoming, upload.size)
        id_column = params.get("id_column")
        _check_columns(svc, version, header, id_column)
        where = ["callback_url"] if upload.multipart else ["query", "callback_url"]
        callback = callback_url(params.get("callback_url"), where)
        fingerprint = _fingerprint(upload, id_column, requested_version) if key else None
        job_id, record = svc.store_for(JobType.BATCH).create_job(
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
            # a batch goes to the default or the version it names, never to a canary
            routing=Routing.DEFAULT if requested_version is None else Routing.PINNED,
            total=header.estimated_rows,
            idempotency_key=key,
            fingerprint=fingerprint,
            tenant=auth.tenant(),
            tenancy=auth.tenancy(),
            stored_bytes=upload.size,
            callback_url=callback,
        )
        if record is not None:
            store.rename(incoming, layout.upload(job_id, upload.format))
    finally:  # a refused upload, or the copy of a retried one (gone already once renamed)
        store.delete(incoming)
    if record is None:
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
    return job_response(record)


def _params(svc: Services, query: dict[str, Any], upload: Upload) -> dict[str, Any]:
    """``model_version`` and ``id_column``: from the query, or the form (which wins)."""
    if upload.multipart:
        CREATE_BATCH.check("multipart/form-data", svc, {**upload.fields, FILE_FIELD: ""})
    given = {k: v for k, v in query.items() if v is not None}
    return {**given, **upload.fields}


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
