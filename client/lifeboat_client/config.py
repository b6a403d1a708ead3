"""What the sync and the async client share: where the server is, the key, timeouts."""

from __future__ import annotations

import os
from typing import Any

import httpx

from lifeboat_client import __version__
from lifeboat_client.transport import RetryPolicy

DEFAULT_URL = "http://127.0.0.1:8000"
URL_ENV = "LIFEBOAT_URL"
API_KEY_ENV = "LIFEBOAT_API_KEY"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)  # seconds; long-polls read longer
USER_AGENT = f"lifeboat-client/{__version__}"


class Settings:
    """The base URL, the API key and the retry policy, from arguments or the environment."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.base_url = (url or os.environ.get(URL_ENV) or DEFAULT_URL).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        if timeout is None:
            self.timeout = DEFAULT_TIMEOUT
        elif isinstance(timeout, httpx.Timeout):
            self.timeout = timeout
        else:
            self.timeout = httpx.Timeout(timeout, connect=min(10.0, timeout))
        self.retry = retry or RetryPolicy()

    def http_kwargs(self) -> dict[str, Any]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        # a scored file may be a redirect to a presigned URL of the server's object store;
        # httpx drops the Authorization header when a redirect leaves the server's origin
        return {
            "base_url": self.base_url,
            "headers": headers,
            "timeout": self.timeout,
            "follow_redirects": True,
        }
