"""The one place the stores are built from settings: the web and the workers both call these."""

from __future__ import annotations

from collections.abc import Callable

import redis

from core.apikeys import KeyStore
from core.deployment import DeploymentStore
from core.feedback import FeedbackStore
from core.jobs import JobStore
from core.keys import Keys
from core.model_store import MISS_RELIST_SECONDS, CachedRegistry, ModelStore
from core.prediction_log import PredictionLog
from core.settings import JOB_TTL_FIELDS, TIME_LIMITED, Settings
from core.storage import LocalStorage, layout, storage_of
from ml.registry import Registry

MODEL_REFRESH_SECONDS = 10.0  # seconds between listings of the model store by each process


def keys(settings: Settings) -> Keys:
    return Keys(settings.key_prefix)


def job_store(
    settings: Settings,
    client: redis.Redis,
    job_type: str | None = None,
    on_webhook: Callable[[list[str]], None] | None = None,
) -> JobStore:
    """The job store; with a job type, one whose writes give a job that type's TTL; with
    ``on_webhook``, one that hands it the jobs it finishes that have a callback URL."""
    return JobStore(
        client,
        keys=keys(settings),
        ttl=settings.job_ttl(job_type) if job_type else settings.job_ttl_seconds,
        log_maxlen=settings.prediction_log_maxlen,
        index_ttl=index_seconds(settings),
        queued_lease=settings.queued_lease_seconds,
        on_webhook=on_webhook,
    )


def index_seconds(settings: Settings) -> int:
    """Seconds the recent-jobs indexes keep a job's entry: the longest TTL of any job type
    plus the longest a task may run (a record's TTL restarts at its last change)."""
    longest_ttl = max(settings.job_ttl(t) for t in JOB_TTL_FIELDS)
    longest_run = max(getattr(settings, f"{kind}_time_limit") for kind in TIME_LIMITED)
    return longest_ttl + longest_run


def feedback_store(settings: Settings, client: redis.Redis) -> FeedbackStore:
    return FeedbackStore(
        client,
        keys=keys(settings),
        retention=settings.feedback_retention_seconds,
        max_labelled=settings.feedback_max_labelled,
        max_indexed=settings.feedback_index_max_predictions,
    )


def prediction_log(settings: Settings, client: redis.Redis) -> PredictionLog:
    return PredictionLog(client, keys(settings))


def api_keys(settings: Settings, client: redis.Redis) -> KeyStore:
    return KeyStore(client, keys(settings))


def deployment(settings: Settings, client: redis.Redis) -> DeploymentStore:
    return DeploymentStore(client, keys(settings))


def model_store(settings: Settings) -> ModelStore:
    """Where model versions are published: the object store of ``storage_url`` (under
    ``models/``), else the models folder itself."""
    if settings.storage_url is None:
        return ModelStore(LocalStorage(settings.models_dir))
    return ModelStore(storage_of(settings), layout.MODELS)


def model_registry(settings: Settings, miss_relist: float = MISS_RELIST_SECONDS) -> Registry:
    """The model versions a process serves: the models folder; with ``storage_url``, a local
    cache filled from the object store, then from the models folder (``miss_relist``: see
    CachedRegistry)."""
    if settings.storage_url is None:
        return Registry(settings.models_dir)
    return CachedRegistry(
        [model_store(settings), ModelStore(LocalStorage(settings.models_dir))],
        settings.model_cache_dir or settings.storage_root / "model-cache",
        MODEL_REFRESH_SECONDS,
        miss_relist,
    )
