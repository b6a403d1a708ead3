"""API keys in Redis: a record per key under the SHA-256 of its secret, and an index by id.

Verifying a token is one round trip (a script reads the record and notes its use);
the web caches what it verified for at most a second (``web.auth``).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import redis

from core import scripts
from core.apikeys.model import ApiKey, digest, new_token
from core.errors import ApiKeyNotFound, BrokerUnavailable
from core.keys import Keys

ID_BYTES = 8  # random bytes of a key's id (its public name)


class KeyStore:
    """Creating, listing, revoking and verifying API keys."""

    def __init__(self, client: redis.Redis, keys: Keys | None = None) -> None:
        self.redis = client
        self.keys = keys or Keys()
        self._verify = client.register_script(scripts.source("apikey_verify"))

    def create(
        self,
        *,
        name: str,
        tenant: str,
        scopes: frozenset[str],
        token: str | None = None,
        **limits: Any,
    ) -> tuple[ApiKey, str]:
        """A new key and its token (shown once: only its hash is kept).

        ``limits``: ``expires_at``, ``rate_limit_per_second``, the tenant quotas
        (``max_active_jobs``, ``max_active_batches``, ``max_stored_bytes``) and the
        default ``callback_url`` of the jobs it makes.
        """
        token = token or new_token()
        key = ApiKey(
            id=f"key_{secrets.token_hex(ID_BYTES)}",
            name=name,
            tenant=tenant,
            scopes=frozenset(scopes),
            created_at=time.time(),
            **limits,
        )
        record = self.keys.api_key(digest(token))
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(record, mapping=key.to_hash())
        pipe.hset(self.keys.api_key_ids, key.id, digest(token))
        _guard(pipe.execute)
        return key, token

    def ensure(self, token: str, *, name: str, tenant: str, scopes: frozenset[str]) -> bool:
        """Make sure a key with this token exists (a bootstrap key); True if it was made.

        An existing key is left alone, a revoked one stays revoked.
        """
        if _guard(self.redis.exists, self.keys.api_key(digest(token))):
            return False
        self.create(name=name, tenant=tenant, scopes=scopes, token=token)
        return True

    def verify(self, token: str) -> ApiKey | None:
        """The key of this token, usable or not; None when there is none."""
        raw = _guard(
            self._verify, keys=[self.keys.api_key(digest(token))], args=[repr(time.time())]
        )
        if not raw:
            return None
        return ApiKey.from_hash(dict(zip(raw[::2], raw[1::2], strict=True)))

    def list(self) -> list[ApiKey]:
        """Every key, oldest first (revoked and expired ones too)."""
        digests = list(_guard(self.redis.hgetall, self.keys.api_key_ids).values())
        pipe = self.redis.pipeline(transaction=False)
        for d in digests:
            pipe.hgetall(self.keys.api_key(d.decode()))
        found = [ApiKey.from_hash(raw) for raw in _guard(pipe.execute) if raw]
        return sorted(found, key=lambda k: (k.created_at, k.id))

    def get(self, key_id: str) -> ApiKey:
        found = _guard(self.redis.hget, self.keys.api_key_ids, key_id)
        raw = _guard(self.redis.hgetall, self.keys.api_key(found.decode())) if found else None
        if not raw:
            raise ApiKeyNotFound(f"no API key with id {key_id!r}")
        return ApiKey.from_hash(raw)

    def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key (its record stays, marked revoked); 404 if there is no such key."""
        found = _guard(self.redis.hget, self.keys.api_key_ids, key_id)
        if not found:
            raise ApiKeyNotFound(f"no API key with id {key_id!r}")
        _guard(self.redis.hset, self.keys.api_key(found.decode()), "revoked", "1")
        return self.get(key_id)


def _guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise BrokerUnavailable("Redis cannot be reached; retry later") from exc
