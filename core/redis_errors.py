"""Which Redis failures mean "Redis cannot serve us now" (a 503 to retry), not a bug.

Redis refuses commands for reasons that pass: the connection drops or times
out, the dataset is still loading, memory is full under ``noeviction`` (OOM), a
replica is read-only, a script is busy, a master is down, a snapshot cannot be
written (MISCONF). redis-py gives some of these their own classes and reports
the rest as a ``ResponseError`` whose message starts with Redis's error code;
both are recognised here, in one place. Anything else (a wrong type, a script
error of ours) is a bug and stays one.

The Celery apps' broker transport (``core/broker.py``) treats the same refusals
as passing.
"""

from __future__ import annotations

import redis
from kombu.exceptions import OperationalError

from core.errors import BrokerUnavailable

# error codes Redis puts first in the message of a command it refuses for a passing reason
PASSING_CODES = frozenset(
    {"OOM", "READONLY", "LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "MISCONF", "NOREPLICAS"}
)
# replies redis-py gives a class of their own that refuse a command for a passing reason
PASSING_REPLIES = (
    redis.exceptions.OutOfMemoryError,
    redis.exceptions.ReadOnlyError,
    redis.exceptions.MasterDownError,
    redis.exceptions.TryAgainError,
)
_PASSING_CLASSES = (
    redis.ConnectionError,  # also BusyLoadingError, MaxConnectionsError
    redis.TimeoutError,
    *PASSING_REPLIES,
    OperationalError,  # kombu's word for the broker connection failing under Celery
)


def is_refusal(exc: BaseException) -> bool:
    """Whether Redis answered, refusing a command for a passing reason: one of
    :data:`PASSING_REPLIES`, or a transaction it discarded at ``EXEC`` for such a reason
    (``EXECABORT`` naming the code: memory went over ``maxmemory`` after its writes were
    queued). A connection lost is not a refusal."""
    if isinstance(exc, PASSING_REPLIES):
        return True
    return isinstance(exc, redis.exceptions.ExecAbortError) and _code(str(exc)) in PASSING_CODES


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says Redis (or the broker on it) cannot serve now, rather than a bug."""
    if isinstance(exc, _PASSING_CLASSES):
        return True
    if isinstance(exc, redis.ResponseError):
        return _code(str(exc)) in PASSING_CODES
    return False


def _code(message: str) -> str:
    """The error code of a Redis error message, also when a pipeline or script wraps it."""
    for marker in ("caused error: ", "Error running script"):  # redis-py's and Redis's wrappers
        if marker in message:
            message = message.split(marker, 1)[1]
    words = message.replace(":", " ").replace(",", " ").split()
    return next((w for w in words if w.isupper()), "")


def unavailable(exc: BaseException) -> BrokerUnavailable:
    """The 503 error to raise for a passing Redis failure (``Retry-After`` included)."""
    return BrokerUnavailable(f"Redis cannot serve this request now ({_summary(exc)}); retry later")


def _summary(exc: BaseException) -> str:
    code = _code(str(exc)) if isinstance(exc, redis.ResponseError) else ""
    return code or type(exc).__name__
