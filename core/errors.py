"""The one error hierarchy; ``web.errors`` maps it to problem+json."""

from __future__ import annotations

from typing import Any


class LifeboatError(Exception):
    """Base of every error Lifeboat reports to a client."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str = "", *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors or []


class InvalidRequest(LifeboatError):
    """The request is well-formed HTTP but its content is not acceptable."""

    status = 422
    title = "Invalid request"


class MalformedBody(LifeboatError):
    """The body is not parseable (e.g. not JSON)."""

    status = 400
    title = "Malformed body"


class UnsupportedMediaType(LifeboatError):
    """The body's content type is not one this endpoint reads."""

    status = 415
    title = "Unsupported media type"


class PayloadTooLarge(LifeboatError):
    """The body is larger than the configured limit."""

    status = 413
    title = "Payload too large"


class JobNotFound(LifeboatError):
    """No job with this id, or it has expired."""

    status = 404
    title = "Job not found"


class ModelVersionNotFound(LifeboatError):
    """No installed model version by that name."""

    status = 404
    title = "Model version not found"


class JobConflict(LifeboatError):
    """The job is not in a state that allows this (e.g. cancelling a finished job)."""

    status = 409
    title = "Conflict with the job's state"


class BrokerUnavailable(LifeboatError):
    """Redis cannot be reached; the client should retry later."""

    status = 503
    title = "Service unavailable"
    retry_after = 5


class StorageUnavailable(LifeboatError):
    """The object store failed or refused a request; the client should retry later."""

    status = 503
    title = "Service unavailable"


class RateLimited(LifeboatError):
    """The API key has sent more requests than its rate limit allows; retry after a while."""

    status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class NoModelInstalled(LifeboatError):
    """No model version is installed yet (run ``make train``)."""

    status = 503
    title = "No model installed"
    retry_after = 30


class ReportNotFound(LifeboatError):
    """The job has no report: it is not a report job, or its report file has expired."""

    status = 404
    title = "Report not found"


class ResultNotReady(JobConflict):
    """The job has no result to download yet (or never will: it failed or was cancelled)."""

    title = "Result not ready"


class ResultNotFound(LifeboatError):
    """The job has no downloadable result (not a batch job, or its file is gone)."""

    status = 404
    title = "Result not found"


class Unauthenticated(LifeboatError):
    """No API key was sent, or it is unknown, revoked or expired."""

    status = 401
    title = "Unauthorized"
    headers = {"WWW-Authenticate": 'Bearer realm="lifeboat"'}


class Forbidden(LifeboatError):
    """The API key lacks a scope this operation needs."""

    status = 403
    title = "Forbidden"


class ApiKeyNotFound(LifeboatError):
    """No API key with this id."""

    status = 404
    title = "API key not found"


class KeyConflict(LifeboatError):
    """The API key cannot be changed so (a key revoking itself)."""

    status = 409
    title = "Conflict with the key's state"


class QuotaExceeded(LifeboatError):
    """The tenant has as many active jobs (or batches) as its quota allows; nothing was queued."""

    status = 429
    title = "Quota exceeded"


class StorageQuotaExceeded(QuotaExceeded):
    """The tenant's stored files would exceed its quota of bytes; nothing was queued."""

    status = 413
    title = "Storage quota exceeded"


class ModelVersionConflict(LifeboatError):
    """The model store already holds another model version of this name."""

    status = 409
    title = "Model version conflict"


class DeploymentConflict(LifeboatError):
    """The deployment cannot make this change now (nothing to roll back to)."""

    status = 409
    title = "Deployment conflict"
