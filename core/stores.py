"""The one place the stores are built from settings: the web and the workers both call these."""

from __future__ import annotations

import redis

from core.apikeys import KeyStore
from core.deployment import DeploymentStore
from core.feedback import FeedbackStore
from core.jobs import JobStore
from core.keys import Keys
from core.prediction_log import PredictionLog
from core.settings import Settings


def keys(settings: Settings) -> Keys:
    return Keys(settings.key_prefix)


def job_store(settings: Settings, client: redis.Redis, job_type: str | None = None) -> JobStore:
    """The job store; with a job type, one whose writes give a job that type's TTL."""
    return JobStore(
        client,
        keys=keys(settings),
        ttl=settings.job_ttl(job_type) if job_type else settings.job_ttl_seconds,
        log_maxlen=settings.prediction_log_maxlen,
        queued_lease=settings.queued_lease_seconds,
    )


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
