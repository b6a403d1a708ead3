"""The traffic policy as each process reads it: cached in every web process (which version
serves a request) and scoring worker (its shadow versions, the canary's guard).

Each process keeps the policy it last read from Redis for ``POLICY_TTL_SECONDS``, so a
change reaches every process within that (and within one request on the process that
made it), while a steady stream of requests costs one ``GET`` per process per TTL, not
one per request. When Redis cannot answer, a process keeps the policy it last read (none
read yet: the models folder's default) and tries again after the TTL: reading models and
``/ready`` do not need Redis, and a prediction is refused by its job store anyway.
"""

from __future__ import annotations

import logging
import threading
import time

import redis

from core.deployment import DeploymentStore, Policy
from core.redis_errors import is_unavailable

log = logging.getLogger(__name__)

POLICY_TTL_SECONDS = 0.5  # how stale a process's copy of the traffic policy may be


class PolicyCache:
    """The stored policy (None: none stored), re-read at most every ``ttl`` seconds."""

    def __init__(self, store: DeploymentStore, ttl: float = POLICY_TTL_SECONDS) -> None:
        self.store = store
        self.ttl = ttl
        self._cached: tuple[float, Policy | None] | None = None
        self._lock = threading.Lock()

    def get(self) -> Policy | None:
        cached = self._cached
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        with self._lock:  # one read per expiry, however many greenlets ask at once
            cached = self._cached
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
            try:
                policy = self.store.read()
            except redis.RedisError as exc:
                if not is_unavailable(exc):
                    raise
                policy = cached[1] if cached is not None else None
                log.warning("traffic policy unread (%r): using the last one read", exc)
            self._cached = (time.monotonic() + self.ttl, policy)
            return policy

    def put(self, policy: Policy) -> None:
        """Remember a policy this process has just written."""
        self._cached = (time.monotonic() + self.ttl, policy)
