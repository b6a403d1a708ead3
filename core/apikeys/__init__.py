"""API keys: who a request comes from, which tenant it acts for, and what it may do.

- :mod:`core.apikeys.model`: scopes, the key record, its quotas, token hashing;
- :mod:`core.apikeys.store`: keys in Redis (create, list, revoke, verify);
- ``python -m core.apikeys``: the command line (the first admin key).
"""

from __future__ import annotations

from core.apikeys.model import (
    SCOPES,
    TENANT_PATTERN,
    ApiKey,
    Scope,
    Tenancy,
    digest,
    new_token,
)
from core.apikeys.store import KeyStore

__all__ = [
    "SCOPES",
    "TENANT_PATTERN",
    "ApiKey",
    "KeyStore",
    "Scope",
    "Tenancy",
    "digest",
    "new_token",
]
