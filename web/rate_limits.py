"""Per-key rate limits on every API request: 429 over the limit, ``RateLimit`` headers always.

The request's API key is ``flask.g.principal`` (set by authentication, whose
``before_request`` hook must be registered before :func:`init_app`'s); a request without
one, and every public operation (``rate_limited=False`` on its
:class:`~web.api.contract.Operation`, and Swagger UI's files), is not limited.

Headers (draft-ietf-httpapi-ratelimit-headers-10, Structured Fields), on every limited
response, 2xx to 5xx alike::

    RateLimit-Policy: "per-key";q=<quota>;w=<window>
    RateLimit: "per-key";r=<remaining>;t=<seconds until the bucket is full>

``q`` requests in ``w`` seconds is the bucket: it holds ``q`` and refills at the key's rate
(``q / w`` is never more than that rate). A refused request is a ``429`` problem naming
the limit, with ``Retry-After`` (whole seconds until one request is allowed, at least 1),
answered after ``LIFEBOAT_RATE_LIMIT_REFUSAL_DELAY_SECONDS`` (the request waits idle).
"""

from __future__ import annotations

import functools
import math
import time
from typing import Protocol

import redis
from flask import Flask, Response, g, request

from core.errors import RateLimited
from core.rate_limits import Decision, Policy, RateLimiter
from core.settings import Settings
from web import admission
from web.api.document import UNDOCUMENTED_ENDPOINTS

POLICY_NAME = "per-key"  # the policy's name in both headers


class KeyHolder(Protocol):
    """What the limit reads of ``flask.g.principal`` (``web.principal.Principal``)."""

    @property
    def key_id(self) -> str: ...

    @property
    def rate_limit_per_second(self) -> float | None: ...


def current_principal() -> KeyHolder | None:
    """The authenticated API key of this request, if any."""
    return getattr(g, "principal", None)


def policy_for(principal: KeyHolder, settings: Settings) -> Policy:
    """The key's own rate if it has one, else the settings' default."""
    rate = principal.rate_limit_per_second
    return _policy(
        rate if rate is not None else settings.rate_limit_per_second,
        settings.rate_limit_burst_seconds,
    )


@functools.lru_cache(maxsize=1024)
def _policy(rate: float, burst_seconds: int) -> Policy:
    return Policy(rate, burst_seconds)  # made and checked once per rate, not per request


@functools.lru_cache(maxsize=1024)
def _policy_field(policy: Policy) -> str:
    return f'"{POLICY_NAME}";q={policy.quota};w={policy.window}'


def headers(policy: Policy, decision: Decision) -> dict[str, str]:
    """The ``RateLimit-Policy`` and ``RateLimit`` fields of one decision."""
    return {
        "RateLimit-Policy": _policy_field(policy),
        "RateLimit": (
            f'"{POLICY_NAME}";r={decision.remaining};t={math.ceil(decision.reset_seconds)}'
        ),
    }


def refusal(key_id: str, policy: Policy, decision: Decision) -> RateLimited:
    retry_after = max(1, math.ceil(decision.retry_after_seconds))
    return RateLimited(
        f"API key {key_id!r} is limited to {policy.rate:g} requests per second "
        f"(bursts of {policy.quota} in {policy.window} s); retry after {retry_after} s",
        retry_after=retry_after,
    )


def _public_endpoint(app: Flask) -> bool:
    endpoint = request.endpoint
    if endpoint is None:
        return False  # an unrouted path (404) is limited like any other request
    if endpoint in UNDOCUMENTED_ENDPOINTS:
        return True  # Swagger UI's files belong to /docs
    operation = getattr(app.view_functions.get(endpoint), "operation", None)
    return operation is not None and not operation.rate_limited


def limited_key(app: Flask) -> str | None:
    """The id of this request's API key if the request is limited (else None)."""
    principal = current_principal()
    if principal is None or _public_endpoint(app):
        return None
    return principal.key_id


def _hold(seconds: float) -> None:
    """Delay a refusal, idle: a flood of requests retried at once was ~4,500 answers a
    second of the web's CPU (``python -m bench.fairness``, phase ``flood_limit_on``)."""
    if seconds > 0:
        with admission.idle():  # holding costs no CPU: its key's place goes to another
            time.sleep(seconds)


def init_app(app: Flask, settings: Settings, client: redis.Redis) -> None:
    """Limit every request that carries an API key; register after authentication."""
    if not settings.rate_limit_enabled:
        return
    limiter = RateLimiter(client)

    @app.before_request
    def limit_rate() -> None:
        principal = current_principal()
        if principal is None or _public_endpoint(app):
            return
        policy = policy_for(principal, settings)
        decision = limiter.take(principal.key_id, policy)
        g.rate_limit_headers = headers(policy, decision)
        if not decision.allowed:
            _hold(settings.rate_limit_refusal_delay_seconds)
            raise refusal(principal.key_id, policy, decision)

    @app.after_request
    def add_rate_limit_headers(resp: Response) -> Response:
        for name, value in g.get("rate_limit_headers", {}).items():
            resp.headers[name] = value
        return resp
