"""An API key as stored: its scopes, tenant, limits; tokens and their hashes.

A token is ``lb_`` and 43 URL-safe characters of :func:`secrets.token_urlsafe` (256
random bits), shown once when the key is made. Redis holds only its SHA-256: a
salted slow hash protects guessable passwords, while a 256-bit random token cannot be
guessed and must be checked on every request in microseconds.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from core.settings import Settings

TOKEN_PREFIX = "lb_"  # marks a Lifeboat key in logs and secret scanners
TOKEN_BYTES = 32  # random bytes of a token
TENANT_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,62}$"  # also part of Redis key names: no ':'
NAME_MAX = 100  # characters of a key's name


class Scope(StrEnum):
    PREDICT = "predict"  # POST /predictions
    BATCH = "batch"  # POST /batches
    REPORT = "report"  # POST /reports (an uploaded CSV)
    FEEDBACK = "feedback"  # POST /feedback, for the tenant's own predictions
    READ = "read"  # the tenant's own jobs: list, read, results, reports
    MONITOR = "monitor"  # platform-wide monitoring: reports over the log, /monitoring
    METRICS = "metrics"  # GET /metrics
    ADMIN = "admin"  # every scope, every tenant's jobs, and the keys themselves


SCOPES = tuple(s.value for s in Scope)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    """What is stored of a token: its SHA-256, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Tenancy:
    """A tenant's limits as a key applies them: the key's own, else the settings'."""

    max_active_jobs: int
    max_active_batches: int
    max_stored_bytes: int


@dataclass(frozen=True)
class ApiKey:
    """An API key's record (never its secret)."""

    id: str
    name: str
    tenant: str
    scopes: frozenset[str]
    created_at: float
    last_used_at: float | None = None
    expires_at: float | None = None
    revoked: bool = False
    rate_limit_per_second: float | None = None  # None: the settings' default
    # per-key quotas of the tenant (None: the settings' default)
    max_active_jobs: int | None = None
    max_active_batches: int | None = None
    max_stored_bytes: int | None = None
    callback_url: str | None = None  # the webhook of the jobs it makes that name none

    def usable(self, now: float) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)

    def allows(self, scope: str) -> bool:
        return Scope.ADMIN.value in self.scopes or scope in self.scopes

    def tenancy(self, settings: Settings) -> Tenancy:
        def pick(own: int | None, default: int) -> int:
            return default if own is None else own

        return Tenancy(
            max_active_jobs=pick(self.max_active_jobs, settings.tenant_max_active_jobs),
            max_active_batches=pick(self.max_active_batches, settings.tenant_max_active_batches),
            max_stored_bytes=pick(self.max_stored_bytes, settings.tenant_max_stored_bytes),
        )

    def to_hash(self) -> dict[str, str]:
        def text(value: object) -> str:
            return "" if value is None else repr(value) if isinstance(value, float) else str(value)

        return {
            "id": self.id,
            "name": self.name,
            "tenant": self.tenant,
            "scopes": " ".join(sorted(self.scopes)),
            "created_at": repr(self.created_at),
            "expires_at": text(self.expires_at),
            "revoked": "1" if self.revoked else "0",
            "rate_limit_per_second": text(self.rate_limit_per_second),
            "max_active_jobs": text(self.max_active_jobs),
            "max_active_batches": text(self.max_active_batches),
            "max_stored_bytes": text(self.max_stored_bytes),
            "callback_url": text(self.callback_url),
        }

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes] | dict[str, str]) -> ApiKey:
        h = {_text(k): _text(v) for k, v in raw.items()}

        def num(name: str) -> float | None:
            return float(h[name]) if h.get(name) else None

        def whole(name: str) -> int | None:
            return int(h[name]) if h.get(name) else None

        return cls(
            id=h["id"],
            name=h.get("name", ""),
            tenant=h["tenant"],
            scopes=frozenset(h.get("scopes", "").split()),
            created_at=float(h.get("created_at") or 0),
            last_used_at=num("last_used_at"),
            expires_at=num("expires_at"),
            revoked=h.get("revoked") == "1",
            rate_limit_per_second=num("rate_limit_per_second"),
            max_active_jobs=whole("max_active_jobs"),
            max_active_batches=whole("max_active_batches"),
            max_stored_bytes=whole("max_stored_bytes"),
            callback_url=h.get("callback_url") or None,
        )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
