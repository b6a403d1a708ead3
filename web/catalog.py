"""The web's read-only view of installed model versions (cards and schemas, never estimators)."""

from __future__ import annotations

import threading
import time
from typing import Any

from core.deployment import Routing, choose
from core.errors import InvalidRequest, NoModelInstalled
from core.policy_cache import PolicyCache
from ml.errors import ModelNotFound
from ml.registry import MODEL_FILE, Registry
from ml.schema import FeatureSchema

DEFAULT_REFRESH_SECONDS = 2.0  # how stale the web's idea of the default version may be


class Catalog:
    """Cached model cards and feature schemas; a card never changes once written."""

    def __init__(self, registry: Registry, policies: PolicyCache | None = None) -> None:
        self.registry = registry
        self.policies = policies  # the traffic policy; None: the models folder's default only
        self._schemas: dict[str, FeatureSchema] = {}
        self._default: tuple[float, str] | None = None
        self._versions: tuple[float, list[str]] | None = None
        self._lock = threading.Lock()
        self._verified: tuple[str, int, int] | None = None

    def default_version(self) -> str:
        """The traffic policy's default if it is installed, else the models folder's."""
        policy = self.policies.get() if self.policies else None
        if policy is not None and policy.default in self.versions():
            return policy.default
        return self.folder_default()

    def folder_default(self) -> str:
        """The models folder's default (``DEFAULT``, else the newest version)."""
        cached = self._default
        if cached and time.monotonic() - cached[0] < DEFAULT_REFRESH_SECONDS:
            return cached[1]
        try:
            version = self.registry.default_version()
        except ModelNotFound as exc:
            raise NoModelInstalled("no model version is installed; run `make train`") from exc
        self._default = (time.monotonic(), version)
        return version

    def versions(self, *, fresh: bool = False) -> list[str]:
        """Installed versions, sorted (re-read at most every ``DEFAULT_REFRESH_SECONDS``;
        ``fresh``: now, the model store listed again first)."""
        cached = self._versions
        if fresh:
            self.registry.refresh()
        elif cached and time.monotonic() - cached[0] < DEFAULT_REFRESH_SECONDS:
            return cached[1]
        versions = self.registry.versions()
        self._versions = (time.monotonic(), versions)
        return versions

    def resolve(self, requested: Any, field: str = "model_version") -> str:
        """The model version a request asks for in ``field`` (the default when absent); 422
        naming ``field`` if unknown."""
        if requested is None:
            return self.default_version()
        if not isinstance(requested, str):
            raise InvalidRequest(
                "invalid request", errors=[{"loc": [field], "msg": "must be a string"}]
            )
        if requested in self._schemas:
            return requested
        try:
            version = self.registry.resolve(requested)
        except ModelNotFound as exc:
            installed = ", ".join(self.registry.versions()) or "none"
            raise InvalidRequest(
                "unknown model version",
                errors=[
                    {
                        "loc": [field],
                        "msg": f"no installed model version {requested!r} (installed: {installed})",
                    }
                ],
            ) from exc
        if version not in (self._versions or (0.0, []))[1]:
            self._versions = None  # found in the store since the last listing: list again
        return version

    def is_installed(self, version: str) -> bool:
        """Whether ``version`` is installed (looked for in the model store if not cached)."""
        try:
            self.resolve(version)
        except InvalidRequest:
            return False
        return True

    def route(self, requested: Any, key: str | None) -> tuple[str, Routing]:
        """The version a prediction request gets and why: the one it names (``pinned``),
        else the canary's or the default (``key``: the stable hash's input, if any)."""
        if requested is not None:
            return self.resolve(requested), Routing.PINNED
        default = self.default_version()
        policy = self.policies.get() if self.policies else None
        if policy is not None and policy.canary and policy.canary.version in self.versions():
            return choose(policy, default, key)
        return default, Routing.DEFAULT

    def verify(self, version: str) -> None:
        """Check the version's artifact against its recorded sha256 (cached while unchanged)."""
        path = self.registry.path(version) / MODEL_FILE
        stamp = (version, path.stat().st_mtime_ns, path.stat().st_size)
        if self._verified != stamp:
            self.registry.read_verified(version, MODEL_FILE)
            self._verified = stamp

    def schema(self, version: str) -> FeatureSchema:
        schema = self._schemas.get(version)
        if schema is None:
            schema = self.registry.schema(version)
            with self._lock:
                self._schemas[version] = schema
        return schema
