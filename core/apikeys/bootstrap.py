"""Keys a deployment names in its settings, made when the web starts if they are missing.

``LIFEBOAT_BOOTSTRAP_ADMIN_KEY`` (compose: from ``.env``; ``make run``: ``var/api-key``)
and ``LIFEBOAT_BOOTSTRAP_METRICS_KEY`` (what Prometheus scrapes with). A key that exists
is left as it is, so a revoked bootstrap key stays revoked.
"""

from __future__ import annotations

import logging
import time

import redis

from core import stores
from core.apikeys.model import Scope
from core.errors import BrokerUnavailable
from core.settings import Settings

log = logging.getLogger(__name__)
REDIS_WAIT_SECONDS = 30.0  # how long the web waits for Redis to make them (make run starts both)
RETRY_SECONDS = 0.5  # between two attempts


def wanted(settings: Settings) -> list[tuple[str, str, frozenset[str]]]:
    """(token, name, scopes) of every bootstrap key the settings name."""
    keys = []
    if settings.bootstrap_admin_key:
        keys.append((settings.bootstrap_admin_key.get_secret_value(), "bootstrap admin", "admin"))
    if settings.bootstrap_metrics_key:
        keys.append((settings.bootstrap_metrics_key.get_secret_value(), "prometheus", "metrics"))
    return [(token, name, frozenset({Scope(scope).value})) for token, name, scope in keys]


def ensure_bootstrap_keys(settings: Settings, wait: float = REDIS_WAIT_SECONDS) -> int:
    """Make the missing bootstrap keys; returns how many were made."""
    keys = wanted(settings)
    if not keys:
        return 0
    store = stores.api_keys(
        settings, redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2)
    )
    deadline = time.monotonic() + wait
    while True:
        try:
            made = sum(
                store.ensure(token, name=name, tenant=settings.bootstrap_tenant, scopes=scopes)
                for token, name, scopes in keys
            )
        except BrokerUnavailable:
            if time.monotonic() > deadline:
                log.error("Redis did not answer: the bootstrap API keys were not checked")
                return 0
            time.sleep(RETRY_SECONDS)
            continue
        if made:
            log.info("made %d bootstrap API key(s) for tenant %s", made, settings.bootstrap_tenant)
        return made
