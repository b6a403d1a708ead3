"""Who a request comes from: set as ``flask.g.principal`` for every authenticated request.

Public routes (``/health``, ``/ready``, ``/docs``, ``/openapi.json``) have none. Hooks
registered after authentication (rate limits) read it; views read it through
:mod:`web.auth`.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.apikeys import ApiKey


@dataclass(frozen=True)
class Principal:
    key_id: str
    tenant: str
    scopes: frozenset[str]
    rate_limit_per_second: float | None  # None: the settings' default

    @classmethod
    def of(cls, key: ApiKey) -> Principal:
        return cls(key.id, key.tenant, key.scopes, key.rate_limit_per_second)
