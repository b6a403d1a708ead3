"""Model versions in a store shared by every host, and each process's local cache of them.

The store is a :class:`core.storage.Storage` (S3-compatible storage, under ``models/``),
or the models folder itself when ``LIFEBOAT_STORAGE_URL`` is unset.

- :mod:`core.model_store.store`: versions in a store: list, publish, download (sha256 checked);
- :mod:`core.model_store.registry`: the registry a process serves from, re-listing the store;
- ``python -m core.model_store``: registering a version built elsewhere (the command line).
"""

from __future__ import annotations

from core.model_store.registry import MISS_RELIST_SECONDS, CachedRegistry
from core.model_store.store import ModelStore

__all__ = [
    "MISS_RELIST_SECONDS",
    "CachedRegistry",
    "ModelStore",
]
