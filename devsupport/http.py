"""HTTP to a stack with an API key: ``requests`` calls with ``Authorization: Bearer <key>``.

``requests`` is imported on the first call, not with :mod:`devsupport`, which
``scripts/run.py`` imports at startup and which stays light (a test holds it to that).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import requests

DEFAULT_TIMEOUT = 30.0  # seconds, unless a call says otherwise


@dataclass(frozen=True)
class KeyedHTTP:
    """``requests.get/post/delete/request`` that send ``token`` (headers given are added)."""

    token: str
    key_id: str = ""  # the key's id, when known (to revoke it)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs["headers"] = {**self.headers, **(kwargs.get("headers") or {})}
        kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
        return importlib.import_module("requests").request(method, url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", url, **kwargs)
