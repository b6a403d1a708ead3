"""Beat's safety net re-publishes prediction jobs whose message was lost."""

from __future__ import annotations

import base64
import json
import time

import pytest

from core.jobs import JobStatus, JobType
from core.queue import make_celery
from core.settings import Settings
from devsupport import RedisServer
from workers.predictions.stale import QUEUED_GRACE_SECONDS, requeue_stale_jobs
from workers.runtime import Runtime

pytestmark = pytest.mark.integration


def published_job_ids(own_redis: RedisServer) -> list[str]:
    ids = []
    for raw in own_redis.client().lrange("predictions", 0, -1):
        body = json.loads(base64.b64decode(json.loads(raw)["body"]))
        ids += body[0][0]
    return ids


def test_a_job_queued_too_long_is_published_again_and_a_fresh_one_is_not(
    own_redis: RedisServer,
) -> None:
    settings = Settings(redis_url=f"{own_redis.url}/0")
    rt = Runtime(settings)
    lost, fresh = (
        rt.store.create(JobType.PREDICTION, params={"instances": [{}]}, model_version="v", total=1)[
            0
        ]
        for _ in range(2)
    )
    rt.redis.hset(rt.store.key(lost), "created_at", repr(time.time() - QUEUED_GRACE_SECONDS - 5))
    assert requeue_stale_jobs(rt, make_celery(settings)) == 1
    assert published_job_ids(own_redis) == [lost]
    assert rt.store.get(fresh).status is JobStatus.QUEUED
