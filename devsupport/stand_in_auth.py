"""A stand-in for authentication, for tests and benchmarks until API keys exist.

``gunicorn ... "devsupport.stand_in_auth:create_app()"`` serves the Lifeboat app with a
``before_request`` hook, run first, that sets ``flask.g.principal`` from test headers:
``X-Stand-In-Key`` (key id and tenant) and optionally ``X-Stand-In-Rate`` (the key's own
requests per second). Every answer says which gunicorn worker served it
(``X-Stand-In-Worker``: its pid). Never served in production: ``web.app`` knows nothing
of these headers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from flask import Flask, Response, g, request

from web.app import create_app as create_lifeboat_app

KEY_HEADER = "X-Stand-In-Key"
RATE_HEADER = "X-Stand-In-Rate"
WORKER_HEADER = "X-Stand-In-Worker"


@dataclass(frozen=True)
class StandInPrincipal:
    """The shape of ``web.principal.Principal``."""

    key_id: str
    tenant: str
    scopes: frozenset[str]
    rate_limit_per_second: float | None


def _principal_from_headers() -> None:
    key = request.headers.get(KEY_HEADER)
    if key:
        rate = request.headers.get(RATE_HEADER)
        g.principal = StandInPrincipal(
            key, key, frozenset({"*"}), float(rate) if rate is not None else None
        )


def _worker_pid(resp: Response) -> Response:
    resp.headers[WORKER_HEADER] = str(os.getpid())
    return resp


def create_app() -> Flask:
    """Lifeboat's app with the stand-in's hook first, where authentication will be."""
    app = create_lifeboat_app()
    app.before_request_funcs.setdefault(None, []).insert(0, _principal_from_headers)
    app.after_request(_worker_pid)
    return app
