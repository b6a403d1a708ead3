"""The fields of :class:`core.settings.Settings` about who may do what, how much and how
often: API keys, per-key rate limits and admission, tenant quotas, webhooks. A mixin, so
``Settings`` stays the one class read from the environment (prefix ``LIFEBOAT_``) while
its module stays small."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from core.defaults import (
    DEFAULT_KEY_ADMISSION_WAIT_SECONDS,
    DEFAULT_KEY_MAX_CONCURRENT_REQUESTS,
    DEFAULT_RATE_LIMIT_BURST_SECONDS,
    DEFAULT_RATE_LIMIT_PER_SECOND,
    DEFAULT_TENANT_MAX_ACTIVE_BATCHES,
    DEFAULT_TENANT_MAX_ACTIVE_JOBS,
    DEFAULT_TENANT_MAX_STORED_BYTES,
    DEFAULT_WEBHOOK_RETRY,
)


class AccessSettings(BaseModel):
    """API keys, limits, quotas and webhooks (mixed into ``Settings``)."""

    rate_limit_enabled: bool = True
    """Limit each API key's request rate (shared by every web process and host, in Redis);
    public routes and requests without an API key are never limited."""
    rate_limit_per_second: float = Field(DEFAULT_RATE_LIMIT_PER_SECOND, gt=0)
    """Requests per second an API key may sustain, unless the key sets its own rate."""
    rate_limit_burst_seconds: int = Field(DEFAULT_RATE_LIMIT_BURST_SECONDS, ge=1)
    """Seconds of its rate a key may send at once (its bucket: rate x this, at least one)."""
    rate_limit_refusal_delay_seconds: float = Field(0.25, ge=0, le=5)
    """Seconds a request over its key's rate waits, idle, before its 429: a client that
    retries at once instead of honouring Retry-After cannot keep the web's CPU on refusals."""
    key_max_concurrent_requests: int = Field(DEFAULT_KEY_MAX_CONCURRENT_REQUESTS, ge=0)
    """A key's requests a web process works on at once while other keys' arrive too (0: off)."""
    key_admission_wait_seconds: float = Field(DEFAULT_KEY_ADMISSION_WAIT_SECONDS, ge=0)
    """Seconds a request past its key's cap waits for its turn before it is refused (429)."""

    auth_cache_seconds: float = Field(1.0, gt=0, le=1.0)
    """Seconds a web process trusts a verified API key: a revoked one is refused within this."""

    tenant_max_active_jobs: int = Field(DEFAULT_TENANT_MAX_ACTIVE_JOBS, ge=1)
    """Queued + running jobs a tenant may have (more: 429); an API key may set its own."""

    tenant_max_active_batches: int = Field(DEFAULT_TENANT_MAX_ACTIVE_BATCHES, ge=1)
    """Batch jobs a tenant may have queued or running at once (more: 429); per key too."""

    tenant_max_stored_bytes: int = Field(DEFAULT_TENANT_MAX_STORED_BYTES, ge=0)
    """Bytes of uploads and batch results a tenant may store (more: 413); per key too."""

    webhook_retry_seconds: int = Field(DEFAULT_WEBHOOK_RETRY, ge=0)
    """Seconds a webhook delivery is retried (timeouts, connection errors, 5xx, 429)."""

    webhook_backoff_seconds: float = Field(30.0, gt=0)
    """Delay before a delivery's first retry; each next one waits twice as long (max 1 h)."""

    webhook_timeout_seconds: float = Field(10.0, gt=0)
    """Seconds a delivery may take to connect, and then to read each part of the answer."""

    webhook_allowed_hosts: str = ""
    """Comma-separated hosts a callback URL may name over http or at a private address."""

    bootstrap_admin_key: SecretStr | None = None
    """An admin API key the web makes at start if missing (compose: ``.env``; make run: a file)."""

    bootstrap_metrics_key: SecretStr | None = None
    """A ``metrics``-scoped key the web makes sure exists at start (Prometheus scrapes with it)."""

    bootstrap_tenant: str = Field("ops", pattern=r"^[a-z0-9][a-z0-9_.-]{0,62}$")
    """Tenant of the bootstrap keys."""
