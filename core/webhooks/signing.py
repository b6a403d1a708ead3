"""Each tenant's webhook signing secret, and the Standard Webhooks headers of a delivery.

A secret is ``whsec_`` and 32 random bytes in base64, the form the ``standardwebhooks``
libraries read. It is made the first time the tenant needs it (a delivery, or its admin
asking for it) and kept in Redis until rotated; a rotation takes effect at the next
delivery attempt.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

import redis
from standardwebhooks import Webhook

from core.jobs import guard
from core.keys import Keys

SECRET_PREFIX = "whsec_"  # what Standard Webhooks libraries expect before the base64
SECRET_BYTES = 32  # random bytes of a signing secret


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


class SigningSecrets:
    """Tenants' signing secrets in Redis (``Keys.tenant_webhook_secret``)."""

    def __init__(self, client: redis.Redis, keys: Keys | None = None) -> None:
        self.redis = client
        self.keys = keys or Keys()

    def get(self, tenant: str) -> str:
        """The tenant's secret, made now if it has none (two callers at once get the same)."""
        key = self.keys.tenant_webhook_secret(tenant)
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(key, new_secret(), nx=True)
        pipe.get(key)
        return guard(pipe.execute)[1].decode()

    def rotate(self, tenant: str) -> str:
        """A new secret for the tenant; the old one signs nothing from now on."""
        secret = new_secret()
        guard(self.redis.set, self.keys.tenant_webhook_secret(tenant), secret)
        return secret


def headers(secret: str, message_id: str, body: str, now: datetime | None = None) -> dict[str, str]:
    """The ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature`` of one attempt.

    ``message_id`` stays the same across retries of one delivery (receivers deduplicate
    with it); the timestamp and signature are made for each attempt.
    """
    moment = now or datetime.now(UTC)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, moment, body),
    }
