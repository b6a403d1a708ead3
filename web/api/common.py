"""Parameters several operations share: ``wait``, ``Idempotency-Key``, ``callback_url``."""

from __future__ import annotations

from typing import Any

from core.webhooks.urls import MAX_URL, URL_PATTERN
from web.api.contract import Param
from web.services import Services

MAX_IDEMPOTENCY_KEY = 255  # characters of an Idempotency-Key
# visible ASCII, inner spaces allowed: what survives HTTP header parsing unchanged
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]*[!-~])?$"


def _wait_schema(svc: Services) -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "maximum": svc.settings.max_wait_seconds}


WAIT = Param(
    "wait",
    "query",
    _wait_schema,
    "seconds to wait for the job to finish (long-poll); the answer is 200 once it has",
)
IDEMPOTENCY_KEY = Param(
    "Idempotency-Key",
    "header",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_IDEMPOTENCY_KEY,
        "pattern": IDEMPOTENCY_KEY_PATTERN,
    },
    "the same key within the job TTL and the same request returns the same job "
    "(`Idempotent-Replayed: true`); with a different request it is 409",
)
CALLBACK_URL: dict[str, Any] = {
    "type": "string",
    "maxLength": MAX_URL,
    "pattern": URL_PATTERN,
    "description": (
        "where to POST the job, signed (Standard Webhooks), once it has finished: https at "
        "a public address (default: the API key's `callback_url`)"
    ),
}
CALLBACK_URL_PARAM = Param("callback_url", "query", CALLBACK_URL, CALLBACK_URL["description"])
