"""What one worker process holds: settings, the job store, and each model version loaded once."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Hashable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import redis
from celery import current_app

from core import stores
from core.jobs import JobStore, JobType
from core.keys import Keys
from core.policy_cache import PolicyCache
from core.queue import DELIVER_WEBHOOK_TASK
from core.settings import Settings, get_settings

if TYPE_CHECKING:
    from ml.model import Model
    from ml.registry import Registry

log = logging.getLogger(__name__)


class Runtime:
    """Per-process state of a worker; built lazily so that nothing loads at import."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._models: dict[str, Model] = {}
        self._memo: dict[Hashable, Any] = {}
        self._lock = threading.Lock()

    @property
    def node(self) -> str:
        """This worker's Celery node name (``scoring@host``): kept in the records of the jobs
        and batch parts it claims, to tell which host ran them."""
        return _node or socket.gethostname()

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(
            self.settings.redis_url, socket_timeout=10, health_check_interval=30
        )

    @cached_property
    def keys(self) -> Keys:
        return stores.keys(self.settings)

    @cached_property
    def store(self) -> JobStore:
        return stores.job_store(self.settings, self.redis)

    def store_for(self, job_type: JobType) -> JobStore:
        """The job store that finishes jobs of this type with the type's TTL."""
        key = ("job store", job_type)
        return self.memo(
            key, lambda: stores.job_store(self.settings, self.redis, job_type, publish_webhooks)
        )

    @cached_property
    def policies(self) -> PolicyCache:
        """The traffic policy (shadow versions, the canary's guard), re-read every 0.5 s."""
        return PolicyCache(stores.deployment(self.settings, self.redis))

    @cached_property
    def registry(self) -> Registry:
        # a job names a version the web found: look for it in the store at once if not cached
        return stores.model_registry(self.settings, miss_relist=0.0)

    def model(self, version: str) -> Model:
        """The model version, loaded (and its artifacts verified) once per process.

        Loaded from its lean artifact when it has one: numpy only, no scikit-learn.
        """
        model = self._models.get(version)
        if model is None:
            with self._lock:
                model = self._models.get(version)
                if model is None:
                    model = self.registry.load(version)
                    self._models[version] = model
                    log.info("loaded model version %s", version)
        return model

    def memo(self, key: Hashable, build: Callable[[], Any]) -> Any:
        """This process's value for ``key``, built on first use (reference data, estimators)."""
        value = self._memo.get(key)
        if value is None:
            value = build()
            with self._lock:
                value = self._memo.setdefault(key, value)
        return value

    def pipeline(self, version: str) -> Any:
        """The version's scikit-learn pipeline (loads scikit-learn into this process)."""
        return self.model(version).pipeline


def publish_webhooks(job_ids: list[str]) -> None:
    """Queue the delivery of finished jobs' webhooks; a broker error is logged, never
    raised: a delivery never fails the job."""
    for job_id in job_ids:
        try:
            current_app.send_task(DELIVER_WEBHOOK_TASK, args=[job_id])
        except Exception:
            log.exception("the webhook of job %s could not be queued", job_id)


_runtime: Runtime | None = None
_node: str = ""  # the worker's node name, set in its main process before the pool forks


def set_node(name: str) -> None:
    """Name this worker (its Celery node name) for the records it claims."""
    global _node  # noqa: PLW0603 — one per worker, set once at start
    _node = name


def runtime() -> Runtime:
    global _runtime  # noqa: PLW0603 — one per process, created on first use
    if _runtime is None:
        _runtime = Runtime(get_settings())
    return _runtime
