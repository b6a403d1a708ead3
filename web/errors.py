"""Every error → RFC 7807 ``application/problem+json``, in this one place."""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, Response, json, request
from kombu.exceptions import OperationalError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from core.errors import LifeboatError
from core.redis_errors import is_unavailable, unavailable
from ml.errors import InvalidInstances, ModelNotFound

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


def _slug(name: str) -> str:
    return "".join("-" + c.lower() if c.isupper() else c for c in name).lstrip("-")


def register(app: Flask) -> None:
    @app.errorhandler(LifeboatError)
    def lifeboat_error(exc: LifeboatError) -> Response:
        headers = {}
        if getattr(exc, "retry_after", None):
            headers["Retry-After"] = str(exc.retry_after)
        headers.update(getattr(exc, "headers", {}))  # WWW-Authenticate on a 401
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            errors=exc.errors,
            type_=f"/problems/{_slug(type(exc).__name__)}",
            headers=headers,
        )

    @app.errorhandler(InvalidInstances)
    def invalid_instances(exc: InvalidInstances) -> Response:
        n = len(exc.errors)
        return problem(
            422,
            "Invalid request",
            f"{n} invalid field{'s' if n != 1 else ''}",
            errors=exc.errors,
            type_="/problems/invalid-request",
        )

    @app.errorhandler(ModelNotFound)
    def model_not_found(exc: ModelNotFound) -> Response:
        return problem(
            404, "Model version not found", str(exc), type_="/problems/model-version-not-found"
        )

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge) -> Response:
        limit = request.max_content_length
        return problem(
            413,
            "Payload too large",
            f"the body is larger than {limit} bytes",
            type_="/problems/payload-too-large",
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        resp = problem(exc.code or 500, exc.name, exc.description or exc.name)
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            resp.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return resp

    @app.errorhandler(redis.RedisError)
    @app.errorhandler(OperationalError)
    def redis_error(exc: Exception) -> Response:
        """A Redis that cannot serve now (down, full, read-only, busy, loading) is a 503."""
        if not is_unavailable(exc):
            return unexpected(exc)
        log.warning("Redis cannot serve %s %s: %r", request.method, request.path, exc)
        return lifeboat_error(unavailable(exc))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "Internal server error", "an unexpected error occurred; it is logged")
