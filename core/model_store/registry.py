"""A registry that serves model versions from stores through a local cache.

Every process (web, scoring and reports workers) reads versions from its cache
folder with :class:`ml.registry.Registry`, which checks sha256 on every load. The
stores (the shared object store, then the host's own models folder) are listed
again every ``refresh`` seconds, and at once (at most every ``miss_relist``) when a
version not in the cache is asked for, so a newly published version is served
without a restart. A version is taken from the first store holding it. When a store
cannot be read the cache keeps serving what it holds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from core.model_store.store import ModelStore
from ml.errors import MLError, ModelNotFound
from ml.registry import Registry, check_version

log = logging.getLogger(__name__)

MISS_RELIST_SECONDS = 1.0  # requests naming unknown versions list the stores at most this often


class CachedRegistry(Registry):
    """:class:`~ml.registry.Registry` over ``cache``, filled from ``stores``."""

    def __init__(
        self,
        stores: Sequence[ModelStore],
        cache: Path,
        refresh: float,
        miss_relist: float = MISS_RELIST_SECONDS,
    ) -> None:
        super().__init__(cache)
        self.stores = list(stores)
        self.refresh_seconds = refresh
        self.miss_relist = miss_relist  # 0 in workers: the web only queues versions it found
        self._listed_at = -float("inf")  # monotonic time of the last listing
        self._lock = threading.Lock()

    def sync(self, *, wait: bool = True) -> list[str]:
        """Download the versions missing from the cache, and the DEFAULT of the first store
        naming one; returns the versions downloaded. A version failing its sha256 check,
        or a store that cannot be read, is skipped and logged. Without ``wait``, nothing
        is done while another thread lists the stores (its callers serve the cache: a
        slow store delays one request, not all)."""
        if not self._lock.acquire(blocking=wait):
            return []
        try:
            self._listed_at = time.monotonic()
            have = set(super().versions())
            downloaded: list[str] = []
            for store in self.stores:
                downloaded += self._sync_from(store, have)
            for store in self.stores:
                try:
                    if store.default() is not None:
                        store.download_default(self.root)
                        break
                except Exception as exc:  # noqa: BLE001 - any failure of a store: network, credentials
                    log.warning("model store %s: DEFAULT unread (%r)", store, exc)
            return downloaded
        finally:
            self._lock.release()

    def _sync_from(self, store: ModelStore, have: set[str]) -> list[str]:
        try:
            listed = store.versions()
        except Exception as exc:  # noqa: BLE001 - any failure of a store: network, credentials
            log.warning("model store %s unreadable (%r): serving the cache", store, exc)
            return []
        downloaded = []
        for version in listed:
            if version in have:
                continue
            try:
                store.download(version, self.root)
            except MLError as exc:
                log.error("model version %s refused from %s: %s", version, store, exc)
                continue
            except Exception as exc:  # noqa: BLE001 - the store failed mid-way: next listing retries
                log.warning("model version %s not downloaded from %s (%r)", version, store, exc)
                continue
            have.add(version)
            downloaded.append(version)
            log.info("model version %s downloaded from %s", version, store)
        return downloaded

    def refresh(self) -> None:
        self.sync()

    def versions(self) -> list[str]:
        """Cached versions, after listing the stores if the last listing is ``refresh`` old."""
        if time.monotonic() - self._listed_at >= self.refresh_seconds:
            self.sync(wait=False)
        return super().versions()

    def default_version(self) -> str:
        self.versions()
        return super().default_version()

    def resolve(self, version: str | None) -> str:
        """As :meth:`Registry.resolve`, listing the stores first when ``version`` is not cached."""
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
