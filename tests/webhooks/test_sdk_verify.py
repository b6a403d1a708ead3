"""The SDK's verify_webhook accepts what the server signs, and nothing altered."""

from __future__ import annotations

import json

import pytest

from core.webhooks.signing import headers, new_secret
from lifeboat_client import InvalidSignature, verify_webhook

BODY = json.dumps({"id": "3f1c", "type": "prediction", "status": "succeeded", "result": None})


def test_a_delivery_the_server_signed_verifies_into_its_job() -> None:
    secret = new_secret()
    signed = headers(secret, "msg_3f1c", BODY)
    job = verify_webhook(secret, BODY.encode(), {k.title(): v for k, v in signed.items()})
    assert (job.id, job.status) == ("3f1c", "succeeded")


@pytest.mark.parametrize(
    "change",
    ["body", "secret", "id"],
)
def test_an_altered_delivery_is_refused(change: str) -> None:
    secret = new_secret()
    signed = headers(secret, "msg_3f1c", BODY)
    body = BODY.replace("succeeded", "failed") if change == "body" else BODY
    key = new_secret() if change == "secret" else secret
    if change == "id":
        signed = {**signed, "webhook-id": "msg_other"}
    with pytest.raises(InvalidSignature):
        verify_webhook(key, body, signed)
