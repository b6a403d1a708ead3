"""API keys on every request: ``Authorization: Bearer <token>``, scopes, tenants.

A before-request hook finds the view's :class:`~web.api.contract.Operation`: a public
one needs nothing; any other needs a usable key (401 with ``WWW-Authenticate: Bearer``
when it is missing, unknown, revoked or expired) holding one of the operation's scopes
(403; ``admin`` holds them all). It then sets ``g.principal`` (:class:`Principal`).

A key verified from Redis (one round trip) is trusted by this process for
``LIFEBOAT_AUTH_CACHE_SECONDS`` (at most 1 s), so a revocation reaches every process
within that; an expiry time is checked on every request.
"""

from __future__ import annotations

import threading
import time

from flask import Flask, g, request

from core.apikeys import ApiKey, KeyStore, Scope, Tenancy
from core.errors import Forbidden, JobNotFound, Unauthenticated
from core.jobs import Job
from web.principal import Principal
from web.services import services

CACHE_MAX_ENTRIES = 10_000  # tokens one process remembers (unknown ones too); then it forgets all
BEARER = "bearer"


class VerifiedKeys:
    """Tokens this process has looked up, each trusted for ``ttl`` seconds.

    When a token is not (or no longer) trusted, one request looks it up in Redis while
    the token's other requests in this process wait for that answer, rather than each
    looking it up at once.
    """

    def __init__(self, store: KeyStore, ttl: float) -> None:
        self.store = store
        self.ttl = ttl
        self._cache: dict[str, tuple[float, ApiKey | None]] = {}
        self._looking_up: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def lookup(self, token: str) -> ApiKey | None:
        while True:
            now = time.monotonic()
            with self._lock:
                cached = self._cache.get(token)
                if cached is not None and cached[0] > now:
                    return cached[1]
                looking_up = self._looking_up.get(token)
                if looking_up is None:
                    self._looking_up[token] = threading.Event()
                    break
            looking_up.wait()  # then trust its answer, or look it up if it failed
        try:
            key = self.store.verify(token)
            with self._lock:
                if len(self._cache) >= CACHE_MAX_ENTRIES:
                    self._cache.clear()
                # trusted from when it was asked for: a revocation since is seen in ttl
                self._cache[token] = (now + self.ttl, key)
            return key
        finally:
            with self._lock:
                self._looking_up.pop(token).set()


def register(app: Flask, keys: VerifiedKeys, public_endpoints: frozenset[str]) -> None:
    """Authenticate every request to a view whose operation is not public."""

    @app.before_request
    def authenticate() -> None:
        endpoint = request.endpoint
        if endpoint is None or endpoint in public_endpoints:
            return  # no route (Flask answers 404/405), or Swagger UI's files
        operation = getattr(app.view_functions[endpoint], "operation", None)
        if operation is not None and operation.public:
            return
        key = _authenticated(keys)
        scopes = operation.scopes if operation is not None else (Scope.ADMIN.value,)
        if scopes and not any(key.allows(s) for s in scopes):
            raise _forbidden(scopes)
        g.api_key = key
        g.principal = Principal.of(key)


def _authenticated(keys: VerifiedKeys) -> ApiKey:
    scheme, _, token = request.headers.get("Authorization", "").strip().partition(" ")
    if not scheme:
        raise Unauthenticated("send an API key: Authorization: Bearer <key>")
    if scheme.lower() != BEARER or not token.strip():
        raise Unauthenticated("the Authorization header must be: Bearer <key>")
    key = keys.lookup(token.strip())
    if key is None:
        raise Unauthenticated("unknown API key")
    if key.revoked:
        raise Unauthenticated("this API key has been revoked")
    if not key.usable(time.time()):
        raise Unauthenticated("this API key has expired")
    return key


def _forbidden(scopes: tuple[str, ...]) -> Forbidden:
    wanted = " or ".join(f"'{s}'" for s in scopes)
    return Forbidden(f"this API key lacks the scope this needs: {wanted}")


# --- what views ask -----------------------------------------------------------------------
def current_key() -> ApiKey:
    return g.api_key


def tenant() -> str:
    return current_key().tenant


def tenancy() -> Tenancy:
    """The caller's tenant's quotas (the key's own, else the settings')."""
    return current_key().tenancy(services().settings)


def is_admin() -> bool:
    return current_key().allows(Scope.ADMIN.value)


def require(scope: str) -> None:
    """403 unless the key holds ``scope`` (for needs that depend on the request)."""
    if not current_key().allows(scope):
        raise _forbidden((scope,))


def may_see(job_tenant: str | None) -> bool:
    """Whether the caller may see a job of this tenant: its own (an admin sees every one)."""
    return job_tenant == tenant() or is_admin()


def own(job: Job) -> Job:
    """The job if the caller's tenant made it (an admin sees every tenant's); else 404, the
    same answer as for a job that does not exist."""
    if not may_see(job.tenant):
        raise JobNotFound(f"no job with id {job.id!r} (unknown, or expired)")
    return job
