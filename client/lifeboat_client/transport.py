"""What one API call is (:class:`Call`), when it is tried again, and how an answer is read.

Shared by the sync and the async client, which only send. Retries use tenacity:
exponential backoff with jitter, on connection errors, ``429`` and ``503``; a
``Retry-After`` header is honoured (waited at least that long). A request that
may already have reached the server (the connection dropped after it was sent)
is sent again only when that is safe: reads, and submissions that carry an
``Idempotency-Key`` (the server answers a retry with the job the first try made).
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import tenacity

from lifeboat_client.errors import ApiError, ConnectionFailed, api_error

RETRY_STATUSES = frozenset({429, 503})
# errors raised before a byte of the request left: always safe to send again
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
API_PREFIX = "/api/v1"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a call is tried."""

    attempts: int = 5  # tries in all, the first included (1: never retry)
    initial: float = 0.5  # seconds before the first retry; doubled after each
    maximum: float = 30.0  # longest wait between two tries, seconds (a Retry-After too)
    jitter: float = 0.5  # up to this many random seconds added to each backoff


NO_RETRIES = RetryPolicy(attempts=1)


@dataclass
class Call:
    """One HTTP request of the API, independent of how it is sent.

    ``body`` makes a fresh iterable of bytes for every try (an upload is read again from
    its start); ``replayable`` says whether a try that may have reached the server may be
    sent again.
    """

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Callable[[], Iterable[bytes]] | None = None
    replayable: bool = True
    read_timeout: float | None = None  # seconds; None: the client's default

    @property
    def url(self) -> str:
        return self.path if self.path.startswith("/") else f"{API_PREFIX}/{self.path}"

    def query(self) -> dict[str, Any]:
        return {k: _param(v) for k, v in self.params.items() if v is not None}


def _param(value: Any) -> Any:
    return str(value).lower() if isinstance(value, bool) else value


def retry_after(resp: httpx.Response) -> float | None:
    """Seconds the ``Retry-After`` header asks to wait (delay-seconds or an HTTP date)."""
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def error_of(resp: httpx.Response) -> ApiError:
    """The typed error of an answer of 400 or more (its body read already)."""
    try:
        body: Any = resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = resp.text
    return api_error(resp.status_code, body, resp.reason_phrase, retry_after(resp))


def checked(resp: httpx.Response) -> httpx.Response:
    """The answer itself when it is a success; its typed error raised otherwise."""
    if resp.status_code >= 400:
        raise error_of(resp)
    return resp


def json_of(resp: httpx.Response) -> Any:
    checked(resp)
    try:
        return resp.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise api_error(resp.status_code, resp.text, "not JSON") from exc


class _Wait(tenacity.wait.wait_base):
    """Exponential backoff with jitter, or the server's ``Retry-After`` when it is longer."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.backoff = tenacity.wait_exponential_jitter(
            initial=policy.initial, max=policy.maximum, jitter=policy.jitter
        )

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        wait = self.backoff(retry_state)
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome else None
        if isinstance(exc, ApiError) and exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, self.policy.maximum))
        return wait


def _retryable(call: Call) -> Callable[[BaseException], bool]:
    def check(exc: BaseException) -> bool:
        if isinstance(exc, ApiError):
            return exc.status in RETRY_STATUSES
        if isinstance(exc, NOT_SENT):
            return True
        return isinstance(exc, httpx.TransportError) and call.replayable

    return check


def retrying_kwargs(policy: RetryPolicy, call: Call) -> dict[str, Any]:
    """Arguments of ``tenacity.Retrying`` / ``AsyncRetrying`` for this call."""
    return {
        "stop": tenacity.stop_after_attempt(policy.attempts),
        "wait": _Wait(policy),
        "retry": tenacity.retry_if_exception(_retryable(call)),
        "reraise": True,
    }


def unreachable(base_url: str, exc: httpx.TransportError) -> ConnectionFailed:
    text = str(exc) or type(exc).__name__
    return ConnectionFailed(f"cannot talk to {base_url}: {text}")


def timeout(default: httpx.Timeout, call: Call) -> httpx.Timeout:
    if call.read_timeout is None:
        return default
    return httpx.Timeout(
        connect=default.connect, read=call.read_timeout, write=default.write, pool=default.pool
    )
