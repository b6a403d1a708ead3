"""``POST /api/v1/reports``: queue a drift, performance or comparison report job.

Every report job goes to the ``reports`` queue.

Current data is a window of the prediction log (``{"last": N}`` or
``{"since": …, "until": …}``) of one model version, or an uploaded CSV
(multipart field ``file``, or a ``text/csv`` body with ``type`` and
``model_version`` as query parameters), streamed into storage by :mod:`web.uploads`
with its limits. Reference data is the version's reference sample. The worker
builds the Evidently report; the HTML is served at
``GET /api/v1/jobs/{id}/report`` and the job's result holds a JSON summary.
A comparison report (JSON only) names a ``baseline`` and a ``candidate`` version
instead of ``model_version``; its window holds the predictions of both (primary and
shadow). The request's contract is :data:`web.api.reports.CREATE_REPORT`.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, request

from core.apikeys import Scope
from core.errors import InvalidRequest
from core.queue import BUILD_REPORT_TASK
from core.storage import Storage, layout, storage_of
from telemetry import metrics
from web import auth
from web.api.reports import COMPARISON, CREATE_REPORT, FORM, REPORT_TYPES, window_limits
from web.callbacks import callback_url
from web.responses import job_response, replayed_job_response
from web.services import Services, services
from web.uploads import CSV, FILE_FIELD, read_header, receive

bp = Blueprint("reports", __name__, url_prefix="/api/v1")
Params = tuple[dict[str, Any], str]  # the job's params and model version
Request = tuple[dict[str, Any], str, str]  # the job's params, model version, fingerprint


@bp.post("/reports")
@CREATE_REPORT
def create_report() -> Response:
    svc = services()
    query = CREATE_REPORT.read_params(svc)
    mimetype = request.mimetype or ""
    if mimetype == "application/json" or mimetype.endswith("+json") or not mimetype:
        params, version, fingerprint = _from_json(svc)
    else:
        params, version, fingerprint = _from_upload(svc, query)
    job_type = REPORT_TYPES[params["type"]]
    total = params.get("window", {}).get("last", 0)
    upload: str | None = params.get("upload")  # the uploaded CSV's key
    store = storage_of(svc.settings)
    given = params.pop("callback_url", None)
    try:
        if given is not None:
            callback = callback_url(given, ["callback_url"])
        else:
            callback = callback_url(query["callback_url"], ["query", "callback_url"])
        job_id, record = svc.store_for(job_type).create_job(
            job_type,
            params=params,
            model_version=version,
            total=total,
            tenant=auth.tenant(),
            tenancy=auth.tenancy(),
            stored_bytes=store.size(upload) if upload else 0,
            callback_url=callback,
            idempotency_key=query["Idempotency-Key"],
            fingerprint=fingerprint,
        )
        if record is not None:
            metrics.JOBS_SUBMITTED.labels(job_type.value).inc()
            svc.publish(BUILD_REPORT_TASK, job_id)
    except BaseException:
        if upload:
            store.delete(upload)
        raise
    wait = query["wait"] or 0.0
    if record is None:  # a retry: the earlier request's job (its own upload is kept)
        if upload:
            store.delete(upload)
        return replayed_job_response(svc.wait(job_id, wait), fingerprint, "body or file")
    return job_response(svc.wait(job_id, wait) if wait > 0 else record)


# --- JSON: a window of the prediction log ---------------------------------------------------
def _from_json(svc: Services) -> Request:
    body, raw = CREATE_REPORT.read_json(svc)
    auth.require(Scope.MONITOR)  # the log holds every tenant's predictions
    if body["type"] == COMPARISON:  # the schema holds baseline and candidate to comparisons
        version, versions = _compared(svc, body)
    else:
        version, versions = svc.catalog.resolve(body.get("model_version")), {}
    params, version = _window(svc, body, version)
    params.update(versions)
    if "callback_url" in body:
        params["callback_url"] = body["callback_url"]
    return params, version, hashlib.sha256(raw).hexdigest()


def _compared(svc: Services, body: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A comparison's two versions (installed); the job's version is the candidate. The same
    version twice compares it with itself (agreement 1: a check of the report itself)."""
    baseline = svc.catalog.resolve(body["baseline"], "baseline")
    candidate = svc.catalog.resolve(body["candidate"], "candidate")
    return candidate, {"baseline": baseline, "candidate": candidate}


def _window(svc: Services, body: dict[str, Any], version: str) -> Params:
    window = body["window"]
    if "last" in window:
        last = int(window["last"])  # JSON Schema's integers include 500.0
        low, high = window_limits(svc, body["type"])
        if not low <= last <= high:  # a performance window may be shorter
            raise _invalid(["window", "last"], f"must be an integer from {low} to {high}")
        return {"type": body["type"], "source": "log", "window": {"last": last}}, version
    since = _timestamp(window["since"], "since")
    until = (
        _timestamp(window["until"], "until") if "until" in window else datetime.now(UTC).timestamp()
    )
    if since >= until:
        raise _invalid(["window", "until"], "must be later than since")
    _, high = window_limits(svc, body["type"])
    range_ = {"since": since, "until": until, "max_rows": high}
    return {"type": body["type"], "source": "log", "window": range_}, version


def _timestamp(value: str, name: str) -> float:
    """An RFC 3339 date-time (its syntax checked by the schema) as a Unix timestamp."""
    try:
        parsed = datetime.fromisoformat(value.upper())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    except (ValueError, OverflowError) as exc:  # a leap second, year 0, beyond year 9999
        raise _invalid(["window", name], f"not a representable date-time: {exc}") from exc


def _invalid(loc: list[Any], msg: str) -> InvalidRequest:
    return InvalidRequest("1 invalid field", errors=[{"loc": loc, "msg": msg}])


# --- CSV upload: current data ------------------------------------------------------------------
def _from_upload(svc: Services, query: dict[str, Any]) -> Request:
    s = svc.settings
    store = storage_of(s)
    key = layout.report_upload()
    try:
        upload = receive(store, key, s.max_upload_bytes, formats=(CSV,), digest=True)
        if upload.multipart:
            fields = dict(upload.fields)
            CREATE_REPORT.check(FORM, svc, {**fields, FILE_FIELD: ""})
        else:
            skip = {"wait", "callback_url", "Idempotency-Key"}  # read by the caller
            fields = {k: v for k, v in query.items() if k not in skip and v is not None}
            if "type" not in fields:
                raise _invalid(["query", "type"], "required with a CSV body")
        version = svc.catalog.resolve(fields.get("model_version"))
        _check_columns(svc, store, key, upload.size, report_type=fields["type"], version=version)
    except BaseException:
        store.delete(key)
        raise
    params = {"type": fields["type"], "source": "upload", "upload": key}
    if "callback_url" in fields:
        params["callback_url"] = fields["callback_url"]
    request_ = {"sha256": upload.sha256, "fields": fields, "callback_url": query["callback_url"]}
    fingerprint = hashlib.sha256(json.dumps(request_, sort_keys=True).encode()).hexdigest()
    return params, version, fingerprint


def _check_columns(
    svc: Services, store: Storage, key: str, size: int, *, report_type: str, version: str
) -> None:
    columns = read_header(store, key, size).columns
    needed = list(svc.catalog.schema(version).feature_names)
    if report_type == "performance":
        needed.append(svc.catalog.registry.card(version).get("target", "target"))
    missing = [c for c in needed if c not in columns]
    if missing:
        raise InvalidRequest(
            f"the CSV lacks {len(missing)} column(s)",
            errors=[{"loc": ["file", c], "msg": "column required"} for c in missing],
        )
