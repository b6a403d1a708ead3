"""The OpenAPI 3.1 document, made from the routes' own :class:`~web.api.contract.Operation`s."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from web import console
from web.api.components import RATE_LIMIT_HEADERS, RATE_LIMITED, components
from web.api.contract import Operation
from web.limits import MAX_REQUEST_LINE_BYTES
from web.services import Services

IGNORED_METHODS = {"HEAD", "OPTIONS"}
URI_TOO_LONG = {  # answered by gunicorn itself, as an HTML page
    "description": f"the request line is longer than {MAX_REQUEST_LINE_BYTES} bytes",
    "content": {"text/html": {"schema": {"type": "string"}}},
}
# Swagger UI's own files (CSS, JavaScript) are served beside the document, not part of the
# API; so are the console's pages and files (their data comes from the API, with a key)
UNDOCUMENTED_ENDPOINTS = frozenset({"docs.static"}) | console.ENDPOINTS
_CONVERTER = re.compile(r"<(?:[a-z_]+:)?([A-Za-z_][A-Za-z0-9_]*)>")


def openapi_path(rule: str) -> str:
    """``/jobs/<job_id>`` → ``/jobs/{job_id}``."""
    return _CONVERTER.sub(r"{\1}", rule)


def operations(app: Flask) -> list[tuple[str, str, Operation | None]]:
    """(OpenAPI path, lower-case method, its Operation or None) for every routed method."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in UNDOCUMENTED_ENDPOINTS:
            continue
        operation = getattr(app.view_functions[rule.endpoint], "operation", None)
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            found.append((openapi_path(rule.rule), method.lower(), operation))
    return found


def document(app: Flask, svc: Services) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for path, method, operation in operations(app):
        if operation is None:
            continue  # a route without a contract: the coverage test names it
        path_params = _CONVERTER.findall(next(r.rule for r in _rules(app, path)))
        doc = operation.openapi(svc, path_params)
        doc["responses"].setdefault("414", URI_TOO_LONG)
        if operation.rate_limited and svc.settings.rate_limit_enabled:
            doc["responses"]["429"] = rate_limited(doc["responses"].get("429"))
        paths.setdefault(path, {})[method] = doc
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Lifeboat",
            "version": "1",
            "description": (
                "Asynchronous ML predictions: queue a job, poll its result. Errors are RFC 7807 "
                "`application/problem+json` with an `errors` list naming each bad field."
            ),
        },
        "paths": dict(sorted(paths.items())),
        "components": components(svc),
    }


def rate_limited(own: dict[str, Any] | None) -> dict[str, Any]:
    """The 429 of a rate-limited operation: the rate limit's, or both when the operation
    has a 429 of its own (a tenant's quota), which carries the ``RateLimit`` headers too
    (every answer to a keyed request does) but no ``Retry-After``."""
    if own is None:
        return RATE_LIMITED
    headers = {**own.get("headers", {}), **RATE_LIMIT_HEADERS}
    headers["Retry-After"] = {
        **headers["Retry-After"],
        "required": False,
        "description": f"{headers['Retry-After']['description']} (the rate limit's 429 only)",
    }
    return {
        **own,
        "description": f"{own['description']}; or {RATE_LIMITED['description']}",
        "headers": headers,
    }


def _rules(app: Flask, path: str) -> list[Any]:
    return [r for r in app.url_map.iter_rules() if openapi_path(r.rule) == path]
