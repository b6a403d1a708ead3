"""Every API operation as a :class:`~lifeboat_client.transport.Call`: built here once,
sent by :class:`~lifeboat_client.Client` and :class:`~lifeboat_client.AsyncClient`."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from lifeboat_client.transport import Call

LONG_POLL_SECONDS = 20.0  # longest ?wait= one request asks for (the server allows 30 by default)
POLL_SLACK_SECONDS = 30.0  # read timeout beyond a long-poll's wait
Window = int | Mapping[str, Any] | tuple[datetime | str, datetime | str | None]
FeedbackItems = Iterable[Mapping[str, Any] | tuple[str, str]]


def new_idempotency_key() -> str:
    """A fresh key for one logical submission; every retry of it sends the same."""
    return f"sdk-{uuid.uuid4()}"


def _long_poll(wait: float | None) -> float | None:
    if not wait or wait <= 0:
        return None
    return min(float(wait), LONG_POLL_SECONDS)


def _read_timeout(wait: float | None) -> float | None:
    return wait + POLL_SLACK_SECONDS if wait else None


def submit_prediction(
    instances: Iterable[Mapping[str, Any]],
    *,
    model_version: str | None,
    wait: float | None,
    idempotency_key: str | None,
) -> Call:
    body: dict[str, Any] = {"instances": [dict(i) for i in instances]}
    return _json_submission("predictions", body, model_version, wait, idempotency_key)


def _json_submission(
    path: str,
    body: dict[str, Any],
    model_version: str | None,
    wait: float | None,
    idempotency_key: str | None,
) -> Call:
    """A JSON submission that may long-poll, with its Idempotency-Key (one per call: a
    retry of this Call sends the same key)."""
    if model_version:
        body["model_version"] = model_version
    poll = _long_poll(wait)
    return Call(
        "POST",
        path,
        params={"wait": poll},
        json=body,
        headers={"Idempotency-Key": idempotency_key or new_idempotency_key()},
        read_timeout=_read_timeout(poll),
    )


def get_job(job_id: str, wait: float | None = None) -> Call:
    poll = _long_poll(wait)
    return Call("GET", f"jobs/{job_id}", params={"wait": poll}, read_timeout=_read_timeout(poll))


def cancel_job(job_id: str) -> Call:
    # a retry after a cancel that went through answers 409: the client reads the job then
    return Call("POST", f"jobs/{job_id}/cancel")


def list_jobs(
    *,
    type: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    tenant: str | None = None,
    cursor: str | None = None,
) -> Call:
    params = {"type": type, "status": status, "limit": limit, "tenant": tenant, "cursor": cursor}
    return Call("GET", "jobs", params=params)


def submit_batch(
    body: Any,
    *,
    content_type: str,
    size: int,
    id_column: str | None,
    model_version: str | None,
    idempotency_key: str | None,
) -> Call:
    """``body`` makes the upload's chunks afresh for every try."""
    return Call(
        "POST",
        "batches",
        params={"id_column": id_column, "model_version": model_version},
        headers={
            "Content-Type": content_type,
            "Content-Length": str(size),
            "Idempotency-Key": idempotency_key or new_idempotency_key(),
        },
        body=body,
        read_timeout=300.0,  # the server reads the header of a large file before answering
    )


def result(job_id: str, file_format: str | None) -> Call:
    return Call("GET", f"jobs/{job_id}/result", params={"format": file_format})


def report_html(job_id: str) -> Call:
    return Call("GET", f"jobs/{job_id}/report")


def window_json(window: Window) -> dict[str, Any]:
    """``5000`` → ``{"last": 5000}``; ``(since, until)`` → RFC 3339 strings; a dict as is."""
    if isinstance(window, bool):
        raise TypeError("window: an int (the last N predictions), (since, until) or a dict")
    if isinstance(window, int):
        return {"last": window}
    if isinstance(window, tuple):
        since, until = window
        out = {"since": _instant(since)}
        if until is not None:
            out["until"] = _instant(until)
        return out
    return dict(window)


def _instant(value: datetime | str) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def submit_report(
    report_type: str,
    window: Window,
    *,
    model_version: str | None,
    wait: float | None,
    idempotency_key: str | None = None,
) -> Call:
    body: dict[str, Any] = {"type": report_type, "window": window_json(window)}
    return _json_submission("reports", body, model_version, wait, idempotency_key)


def submit_report_file(
    report_type: str,
    body: Any,
    *,
    size: int,
    model_version: str | None,
    idempotency_key: str | None = None,
) -> Call:
    """``body`` makes the upload's chunks afresh for every try."""
    return Call(
        "POST",
        "reports",
        params={"type": report_type, "model_version": model_version},
        headers={
            "Content-Type": "text/csv",
            "Content-Length": str(size),
            "Idempotency-Key": idempotency_key or new_idempotency_key(),
        },
        body=body,
        read_timeout=300.0,
    )


def feedback(items: FeedbackItems) -> Call:
    """Labels for logged predictions: sending them twice counts them once (``duplicate``)."""
    out = []
    for item in items:
        if isinstance(item, tuple):
            prediction_id, actual = item
            out.append({"prediction_id": prediction_id, "actual": actual})
        else:
            out.append({"prediction_id": item["prediction_id"], "actual": item["actual"]})
    return Call("POST", "feedback", json={"items": out})


def list_models() -> Call:
    return Call("GET", "models")


def get_model(version: str) -> Call:
    return Call("GET", f"models/{version}")


def monitoring(version: str) -> Call:
    return Call("GET", f"models/{version}/monitoring")


def create_key(
    name: str,
    tenant: str,
    scopes: Iterable[str],
    *,
    expires_at: datetime | str | None,
    **limits: Any,
) -> Call:
    body: dict[str, Any] = {"name": name, "tenant": tenant, "scopes": list(scopes)}
    if expires_at is not None:
        body["expires_at"] = _instant(expires_at)
    body.update({k: v for k, v in limits.items() if v is not None})
    # a retry after a lost answer would make a second key (its token never seen): no replay
    return Call("POST", "keys", json=body, replayable=False)


def list_keys() -> Call:
    return Call("GET", "keys")


def revoke_key(key_id: str) -> Call:
    return Call("DELETE", f"keys/{key_id}")


def health() -> Call:
    return Call("GET", "/health")


def ready() -> Call:
    return Call("GET", "/ready")
