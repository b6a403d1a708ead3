"""A submitted job's callback URL: the request's, else its API key's default; checked here.

The check resolves the host (``core.webhooks.urls``): an address that is private,
loopback, link-local or reserved (unless its host is allow-listed), plain ``http`` to a
host that is not, or a name that does not resolve is a 422 naming ``callback_url``.
"""

from __future__ import annotations

from typing import Any

from core.errors import InvalidRequest
from core.webhooks import CallbackRefused, allowed_hosts, check
from web import auth
from web.services import services


def callback_url(given: str | None, loc: list[Any]) -> str | None:
    """The job's callback URL (None: no webhook); ``loc`` names where ``given`` was sent."""
    if given is not None:
        return checked(given, loc)
    default = auth.current_key().callback_url
    return checked(default, ["api_key", "callback_url"]) if default else None


def checked(url: str, loc: list[Any]) -> str:
    """``url`` if a webhook may go there; else 422 naming ``loc``."""
    try:
        check(url, allowed_hosts(services().settings))
    except CallbackRefused as exc:
        raise InvalidRequest(
            "1 invalid field", errors=[{"loc": loc, "msg": f"callback_url {exc}"}]
        ) from exc
    return url
