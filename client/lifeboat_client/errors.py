"""Every error the SDK raises: one hierarchy under :class:`LifeboatError`.

An answer of 400 or more becomes an :class:`ApiError` subclass chosen by its
status, carrying the RFC 7807 problem's ``status``, ``title``, ``detail`` and
``errors`` list (each ``{"loc": [...], "msg": "..."}``).
"""

from __future__ import annotations

from typing import Any


class LifeboatError(Exception):
    """Base of every error the SDK raises."""


class ConnectionFailed(LifeboatError):
    """The server could not be reached (or dropped the connection) after every retry."""


class ApiError(LifeboatError):
    """The server answered with an error (``application/problem+json``)."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str = "",
        errors: list[dict[str, Any]] | None = None,
        *,
        type: str = "about:blank",
        retry_after: float | None = None,
        body: Any = None,
    ) -> None:
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = list(errors or [])
        self.type = type
        self.retry_after = retry_after
        self.body = body
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """One line: ``Title (status): detail (loc: msg; loc: msg)``."""
        text = f"{self.title} ({self.status})"
        if self.detail:
            text += f": {self.detail}"
        if self.errors:
            text += " (" + "; ".join(_field(e) for e in self.errors) + ")"
        return text


def _field(error: dict[str, Any]) -> str:
    loc = ".".join(str(part) for part in error.get("loc", []))
    return f"{loc}: {error.get('msg', '')}" if loc else str(error.get("msg", ""))


class BadRequest(ApiError):
    """400: the body is malformed."""


class Unauthorized(ApiError):
    """401: no API key, or an unknown, revoked or expired one."""


class Forbidden(ApiError):
    """403: the API key lacks the operation's scope."""


class NotFound(ApiError):
    """404: unknown or expired (or another tenant's) resource."""


class Conflict(ApiError):
    """409: the resource's state does not allow this (or an Idempotency-Key was reused)."""


class PayloadTooLarge(ApiError):
    """413: the body is too large, or the tenant's storage quota would be exceeded."""


class UnsupportedMediaType(ApiError):
    """415: the body's content type is not accepted."""


class ValidationError(ApiError):
    """422: invalid fields or parameters, each named in ``errors``."""


class TooManyRequests(ApiError):
    """429: a quota is reached or the key's rate limit (then with ``retry_after``)."""


class ServiceUnavailable(ApiError):
    """503: the server cannot serve now (Redis unreachable, no model installed)."""


class ServerError(ApiError):
    """Any other 5xx: a bug on the server."""


BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
    422: ValidationError,
    429: TooManyRequests,
    503: ServiceUnavailable,
}


def api_error(status: int, body: Any, reason: str, retry_after: float | None = None) -> ApiError:
    """The typed error for an answer's status and (problem+json, if it is one) body."""
    kind = BY_STATUS.get(status, ServerError if status >= 500 else ApiError)
    if isinstance(body, dict) and "title" in body:
        return kind(
            status,
            str(body.get("title") or reason),
            str(body.get("detail") or ""),
            body.get("errors") if isinstance(body.get("errors"), list) else None,
            type=str(body.get("type") or "about:blank"),
            retry_after=retry_after,
            body=body,
        )
    text = body if isinstance(body, str) else ""
    return kind(status, reason or "HTTP error", text[:500], retry_after=retry_after, body=body)


class JobFailed(LifeboatError):
    """A job ended ``failed`` or ``cancelled``; ``job`` is its final state."""

    def __init__(self, job: Any) -> None:
        self.job = job
        detail = (job.error or {}).get("detail", "") if isinstance(job.error, dict) else ""
        super().__init__(f"job {job.id} {job.status}" + (f": {detail}" if detail else ""))


class WaitTimeout(LifeboatError):
    """The job did not finish within the time the caller allowed; ``job`` is its last state."""

    def __init__(self, job: Any, timeout: float) -> None:
        self.job = job
        super().__init__(f"job {job.id} is still {job.status} after {timeout:g} s")
