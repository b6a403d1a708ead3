"""The contract of ``/api/v1/webhooks/secret``: the tenant's webhook signing secret."""

from __future__ import annotations

from typing import Any

from core.apikeys import Scope
from web.api.components import UNAVAILABLE, json_response
from web.api.contract import Operation

SECRET: dict[str, Any] = {
    "type": "object",
    "required": ["tenant", "secret"],
    "properties": {
        "tenant": {"type": "string"},
        "secret": {
            "type": "string",
            "pattern": "^whsec_[A-Za-z0-9+/]+={0,2}$",
            "description": "`whsec_` and base64: give it to `standardwebhooks.Webhook`",
        },
    },
}
VERIFY = (
    "Every delivery carries `webhook-id`, `webhook-timestamp` and `webhook-signature` "
    "(Standard Webhooks: HMAC-SHA256 of `id.timestamp.body` with this secret)."
)

GET_SECRET = Operation(
    summary="The caller's tenant's webhook signing secret (made on first request)",
    description=VERIFY,
    tags=("webhooks",),
    scopes=(Scope.ADMIN,),
    responses={"200": json_response("the secret", SECRET), "503": UNAVAILABLE},
)
ROTATE_SECRET = Operation(
    summary="Replace the caller's tenant's webhook signing secret",
    description=f"{VERIFY} The next delivery attempt is signed with the new secret.",
    tags=("webhooks",),
    scopes=(Scope.ADMIN,),
    responses={"200": json_response("the new secret", SECRET), "503": UNAVAILABLE},
)
