"""A registry that serves model versions from a store through a local cache.

Every process (web, scoring and reports workers) reads versions from its cache
folder with :class:`ml.registry.Registry`, which checks sha256 on every load. The
store is listed again every ``refresh`` seconds, and at once (at most every
``MISS_RELIST_SECONDS``) when a version not in the cache is asked for, so a newly
published version is served without a restart. When the store cannot be read the
cache keeps serving what it holds.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from core.model_store.store import ModelStore
from ml.errors import MLError, ModelNotFound
from ml.registry import Registry, check_version

log = logging.getLogger(__name__)

MISS_RELIST_SECONDS = 1.0  # requests naming unknown versions list the store at most this often


class CachedRegistry(Registry):
    """:class:`~ml.registry.Registry` over ``cache``, filled from ``store``."""

    def __init__(
        self,
        store: ModelStore,
        cache: Path,
        refresh: float,
        miss_relist: float = MISS_RELIST_SECONDS,
    ) -> None:
        super().__init__(cache)
        self.store = store
        self.refresh = refresh
        self.miss_relist = miss_relist  # 0 in workers: the web only queues versions it found
        self._listed_at = -float("inf")  # monotonic time of the last listing
        self._lock = threading.Lock()

    def sync(self) -> list[str]:
        """Download the store's versions missing from the cache, and its DEFAULT; returns
        the versions downloaded. A version failing its sha256 check is skipped, logged."""
        with self._lock:
            self._listed_at = time.monotonic()
            try:
                listed = self.store.versions()
            except OSError as exc:
                log.warning("model store %r unreadable (%r): serving the cache", self.store, exc)
                return []
            cached = set(super().versions())
            downloaded = []
            for version in listed:
                if version in cached:
                    continue
                try:
                    self.store.download(version, self.root)
                except (OSError, MLError) as exc:
                    log.error("model version %s not downloaded from the store: %s", version, exc)
                    continue
                downloaded.append(version)
                log.info("model version %s downloaded from %r", version, self.store)
            try:
                self.store.download_default(self.root)
            except OSError as exc:
                log.warning("the store's DEFAULT not read: %r", exc)
            return downloaded

    def refresh(self) -> None:
        self.sync()

    def versions(self) -> list[str]:
        """Cached versions, after listing the store if the last listing is ``refresh`` old."""
        if time.monotonic() - self._listed_at >= self.refresh:
            self.sync()
        return super().versions()

    def default_version(self) -> str:
        self.versions()
        return super().default_version()

    def resolve(self, version: str | None) -> str:
        """As :meth:`Registry.resolve`, listing the store first when ``version`` is not cached."""
        if version is None:
            return self.default_version()
        try:
            return super().resolve(version)
        except ModelNotFound:
            check_version(version)
            if time.monotonic() - self._listed_at < self.miss_relist:
                raise
            self.sync()
            return super().resolve(version)
