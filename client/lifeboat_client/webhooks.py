"""Checking a completion webhook's Standard Webhooks signature (the ``standardwebhooks``
package does the work: the spec's own library, so the checks are the spec's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

from lifeboat_client.models import Job


class InvalidSignature(Exception):
    """A delivery whose signature, id or timestamp does not verify: do not trust its body."""


def verify_webhook(secret: str, body: bytes | str, headers: Mapping[str, str]) -> Job:
    """The job a delivery carries, once its ``webhook-signature`` verifies with ``secret``
    (your tenant's ``whsec_…`` secret, from ``GET /api/v1/webhooks/secret``).

    ``body`` is the raw request body as received (not re-encoded JSON); ``headers`` the
    request's headers (any case). A delivery older or newer than five minutes is refused,
    as the spec says, so a captured one cannot be replayed later.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        payload: Any = Webhook(secret).verify(body, lowered)
    except WebhookVerificationError as exc:
        raise InvalidSignature(str(exc)) from None
    return Job.from_json(payload)
