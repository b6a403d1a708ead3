"""The contract of ``POST /api/v1/batches`` and ``GET /api/v1/jobs/{job_id}/result``."""

from __future__ import annotations

from typing import Any

from core.apikeys import Scope
from web.api.common import CALLBACK_URL, CALLBACK_URL_PARAM, IDEMPOTENCY_KEY
from web.api.components import (
    INVALID,
    QUOTA,
    UNAVAILABLE,
    job_response,
    model_versions,
    problem_response,
)
from web.api.contract import Operation, Param
from web.services import Services
from web.uploads import CSV_TYPES, FILE_FIELD, PARQUET_TYPES

BINARY = {"type": "string", "format": "binary"}
# A column name as a CSV header line reads it: no line breaks or control characters, no
# surrounding whitespace (names are stripped); short enough to fit a form field
# (4,096 bytes) and, percent-encoded, a request line.
MAX_ID_COLUMN = 200  # characters: 2,400 bytes at most once percent-encoded
_NAME_END = r"[^\s\x00-\x1f\x7f\x85]"
ID_COLUMN = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_ID_COLUMN,
    "pattern": rf"^{_NAME_END}([^\x00-\x1f\x7f\x85]*{_NAME_END})?$",
}
RESULT_FORMATS = ("csv", "parquet")


def _form(svc: Services) -> dict[str, Any]:
    return {
        "type": "object",
        "required": [FILE_FIELD],
        "additionalProperties": False,
        "properties": {
            FILE_FIELD: BINARY,
            "model_version": model_versions(svc),
            "id_column": ID_COLUMN,
            "callback_url": CALLBACK_URL,
        },
    }


CREATE_BATCH = Operation(
    summary="Upload a CSV or Parquet file for bulk scoring (a batch job)",
    description=(
        "A CSV file needs a header line naming every feature column and at least one row; "
        "a Parquet file, a (flat) column of each feature's name and at least one row. Other "
        "columns are carried through to the scored file; none may be named like a column "
        "the scored file adds (`row`, `prediction`, `proba_<class>`, `error`). "
        "`id_column` must name a column of the file that is not a feature. A Parquet file "
        "is sent as `application/vnd.apache.parquet` (or `application/x-parquet`), or as "
        "the multipart `file` with that content type or a name ending in `.parquet`. "
        "`model_version`, `id_column` and `callback_url` may also be sent as multipart form "
        "fields (they "
        "win over the query). Follow the job at `Location`; download the scored file from "
        "`/api/v1/jobs/{job_id}/result` once it has succeeded."
    ),
    tags=("batches",),
    scopes=(Scope.BATCH,),
    params=(
        Param("model_version", "query", model_versions, "default: the default version"),
        Param("id_column", "query", ID_COLUMN, "input column copied first (default: `row`)"),
        CALLBACK_URL_PARAM,
        IDEMPOTENCY_KEY,
    ),
    bodies={
        **dict.fromkeys(CSV_TYPES, BINARY),
        **dict.fromkeys(PARQUET_TYPES, BINARY),
        "multipart/form-data": _form,
    },
    responses={
        "200": job_response("a retry with the same Idempotency-Key: its job, finished"),
        "202": job_response("the batch job is queued (or a retry's job, not finished)"),
        "409": problem_response("Idempotency-Key already used with another file or parameters"),
        "413": problem_response(
            "the file is larger than the upload limit, or than what is left of the tenant's "
            "quota of stored bytes (`errors` names `quota`, `stored_bytes`)"
        ),
        "415": problem_response("neither CSV, a Parquet type nor multipart/form-data"),
        "422": problem_response(
            "not a CSV file with a header and rows (or not Parquet), missing or clashing "
            "columns, an unknown id column, invalid parameters: each named"
        ),
        "429": QUOTA,
        "503": UNAVAILABLE,
    },
)

GET_RESULT = Operation(
    summary="A batch job's scored file (CSV, or Parquet when asked), streamed",
    tags=("batches",),
    scopes=(Scope.READ,),
    params=(
        Param(
            "format",
            "query",
            {"type": "string", "enum": list(RESULT_FORMATS)},
            "without it, `Accept: application/vnd.apache.parquet` asks for Parquet",
        ),
    ),
    responses={
        "200": {
            "description": (
                "id column (or `row`), carried-through columns, `prediction`, one "
                "`proba_<class>` column per class, `error` (empty for scored rows; null in "
                "Parquet, where carried-through columns are text and probabilities doubles)"
            ),
            "content": {"text/csv": {"schema": BINARY}, PARQUET_TYPES[0]: {"schema": BINARY}},
        },
        "307": {
            "description": (
                "with `LIFEBOAT_STORAGE_PRESIGN=1` on S3 storage: the file is at the presigned "
                "URL in `Location` (valid for a few minutes)"
            ),
            "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
        },
        "404": problem_response(
            "unknown or expired job (or another tenant's), not a batch job, or its file expired"
        ),
        "409": problem_response("the job has not succeeded"),
        "422": INVALID,
        "503": UNAVAILABLE,
    },
)
