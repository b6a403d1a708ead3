"""Schemathesis hooks: positive upload cases carry a real CSV or Parquet file.

A file's content (a header naming every feature, rows, an ``id_column`` that is in
it) and a time window's order cannot be said in JSON Schema; the document says them
in words. So that "schema-valid request rejected" keeps its meaning for these
operations, each positive case generated for them is given a file, and a window,
that the words allow; a generated ``callback_url`` (which must resolve to a public
address: not something a schema says, nor a lookup this machine can make) becomes one on
the host the stack allow-lists. Negative cases are left as generated. Loaded by ``st run``
through ``SCHEMATHESIS_HOOKS``.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import schemathesis
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation.modes import GenerationMode

from tests.payloads import passengers

TARGET = "survived"  # the reference model's target column
SAFE_ID = "passenger"
RESERVED = {"row", "prediction", "error", "proba_died", "proba_survived", TARGET}
FEATURES = ("pclass", "sex", "age", "sibsp", "parch", "fare", "embarked")
CSV_TYPES = ("text/csv", "application/csv")
PARQUET_TYPES = ("application/vnd.apache.parquet", "application/x-parquet")


def _rows(id_column: str | None) -> list[dict[str, Any]]:
    rows = []
    for i, p in enumerate(passengers(5)):
        row = {k: p[k] for k in FEATURES}
        row[TARGET] = ("died", "survived")[i % 2]
        if id_column:
            row[id_column] = f"p{i}"
        rows.append(row)
    return rows


def csv_file(id_column: str | None = None) -> bytes:
    rows = _rows(id_column)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode()


def parquet_file(id_column: str | None = None) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = _rows(id_column)
    buf = io.BytesIO()
    pq.write_table(pa.table({k: [r[k] for r in rows] for k in rows[0]}), buf)
    return buf.getvalue()


def _id_column(container: dict[str, Any]) -> str | None:
    """The case's id column, renamed when it names a feature or a column the output adds."""
    name = container.get("id_column")
    if isinstance(name, str) and (name in FEATURES or name.lower() in RESERVED):
        container["id_column"] = name = SAFE_ID
    return name if isinstance(name, str) else None


def _batch(query: dict[str, Any], body: Any, media_type: str) -> Any:
    if media_type in CSV_TYPES:
        return csv_file(_id_column(query))
    if media_type in PARQUET_TYPES:
        return parquet_file(_id_column(query))
    if not isinstance(body, dict):
        return body
    form_id, query_id = _id_column(body), _id_column(query)
    return {**body, "file": csv_file(form_id or query_id)}


def _report(query: dict[str, Any], body: Any, media_type: str) -> Any:
    if media_type in CSV_TYPES:
        query.setdefault("type", "drift")
        return csv_file()
    if not isinstance(body, dict):
        return body
    if media_type == "multipart/form-data":
        return {**body, "file": csv_file()}
    window = dict(body.get("window") or {})
    if "since" in window and _when(window.get("until")) <= _when(window["since"]):
        window.pop("until", None)  # until defaults to now: since must lie before it
        window["since"] = PAST
    return {**body, "window": window}


PAST = "2000-01-01T00:00:00Z"


def _when(value: Any) -> datetime:
    """A window bound as a time (now when absent, the far past when unreadable)."""
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(str(value).upper())
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


MODEL_VERSION = "test-v1"  # the fuzzed stack's one installed version
VERSION_FIELDS = ("model_version", "baseline", "candidate")


def _versions(query: dict[str, Any], body: Any) -> Any:
    """Every generated model version, in the query or the body, made the installed one (the
    document says "an installed model version" in words: a version is not a schema's)."""
    for name in VERSION_FIELDS:
        if name in query:
            query[name] = MODEL_VERSION
    if isinstance(body, dict):
        return {k: (MODEL_VERSION if k in VERSION_FIELDS else v) for k, v in body.items()}
    return body


CALLBACK_URL = "http://127.0.0.1:9/hook"  # allow-listed by the fuzzed stack; nothing listens


def _callback(query: dict[str, Any], body: Any, media_type: str) -> Any:
    """Every generated callback URL, in the query or the body, made an allow-listed one."""
    if "callback_url" in query:
        query["callback_url"] = CALLBACK_URL
    if isinstance(body, dict) and "callback_url" in body:
        return {**body, "callback_url": CALLBACK_URL}
    return body


def _with_callback(fix: Any) -> Any:
    def fixed(query: dict[str, Any], body: Any, media_type: str) -> Any:
        body = _versions(query, body)
        return _callback(query, fix(query, body, media_type) if fix else body, media_type)

    return fixed


FIXES = {
    ("POST", "/api/v1/batches"): _with_callback(_batch),
    ("POST", "/api/v1/reports"): _with_callback(_report),
    ("POST", "/api/v1/predictions"): _with_callback(None),
    ("POST", "/api/v1/keys"): _with_callback(None),
}


def _positive(case: Any) -> bool:
    """Every part of the case was generated to fit the schema."""
    meta = getattr(case, "_meta", None)
    if meta is None or meta.generation.mode != GenerationMode.POSITIVE:
        return False
    return all(c.mode == GenerationMode.POSITIVE for c in meta.components.values())


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    """Give a positive upload case a real file (and an ordered window); keep it positive.

    Schemathesis re-checks a changed part against the schema, which cannot read a file's
    bytes and would call it negative; the parts replaced here fit the document's words.
    """
    fix = FIXES.get((case.operation.method.upper(), case.operation.path))
    if fix is None or not _positive(case):
        return case
    query = dict(case.query or {})
    case.body = fix(query, case.body, case.media_type)
    case.query = query
    for location in (ParameterLocation.BODY, ParameterLocation.QUERY):
        case._meta.clear_dirty(location)
    return case
