"""Which model version serves a request: the traffic policy, cached in each web process.

Each process keeps the policy it last read from Redis for ``POLICY_TTL_SECONDS``, so a
change reaches every process within that (and within one request on the process that
made it), while a steady stream of requests costs one ``GET`` per process per TTL, not
one per request.
"""

from __future__ import annotations

import threading
import time

from core.deployment import DeploymentStore, Policy

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
            policy = self.store.read()
            self._cached = (time.monotonic() + self.ttl, policy)
            return policy

    def put(self, policy: Policy) -> None:
        """Remember a policy this process has just written."""
        self._cached = (time.monotonic() + self.ttl, policy)
