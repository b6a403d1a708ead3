"""Beat's sweeper reads only expired leases and publishes again what they held."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest

from core import stores
from core.jobs import JobStatus, JobType
from core.jobs.leases import LEASE_EXPIRED
from core.queue import BATCHES_QUEUE, PREDICTIONS_QUEUE, make_celery
from core.settings import Settings
from devsupport import RedisServer
from workers.leases.sweep import sweep
from workers.runtime import Runtime

pytestmark = pytest.mark.integration

JOBS = 3_000  # jobs whose leases have not expired: the sweeper must not read them
QUEUED_LEASE = 60.0


def published(own_redis: RedisServer, queue: str) -> list[list[Any]]:
    """The args of every task message on ``queue``."""
    out = []
    for raw in own_redis.client().lrange(queue, 0, -1):
        out.append(json.loads(base64.b64decode(json.loads(raw)["body"]))[0])
    return out


def commands(rt: Runtime) -> dict[str, int]:
    """Calls of each command since the last CONFIG RESETSTAT (those of scripts included)."""
    stats = rt.redis.info("commandstats")
    return {name.removeprefix("cmdstat_"): v["calls"] for name, v in stats.items()}


@pytest.fixture
def rt(own_redis: RedisServer) -> Runtime:
    return Runtime(Settings(redis_url=f"{own_redis.url}/0", queued_lease_seconds=QUEUED_LEASE))


def lost_jobs(rt: Runtime, n: int, job_type: JobType = JobType.PREDICTION) -> list[str]:
    """Jobs written whose message never came: their queued lease has run out."""
    store = stores.job_store(
        rt.settings.model_copy(update={"queued_lease_seconds": 0.001}), rt.redis
    )
    ids = [
        store.create(job_type, params={"instances": [{}]}, model_version="v", total=1)[0]
        for _ in range(n)
    ]
    time.sleep(0.01)
    return ids


def new_job(rt: Runtime) -> str:
    return rt.store.create(JobType.PREDICTION, params={}, model_version="v", total=1)[0]


def test_the_sweeper_reads_only_the_expired_leases_however_many_jobs_there_are(
    rt: Runtime, own_redis: RedisServer
) -> None:
    fresh = [new_job(rt) for _ in range(JOBS)]
    lost = lost_jobs(rt, 5)
    rt.settings = rt.settings.model_copy(update={"lease_sweep_batch": 2})
    rt.redis.config_resetstat()
    assert sweep(rt, make_celery(rt.settings)) == len(lost)
    calls = commands(rt)
    assert calls["zrangebyscore"] == 3  # 2 + 2 + 1 expired leases, at most 2 a read
    assert calls["hmget"] == len(lost)  # one job record read per expired lease, none other
    assert sorted(i for args in published(own_redis, PREDICTIONS_QUEUE) for i in args[0]) == sorted(
        lost
    )
    assert {rt.store.get(i).status for i in fresh} == {JobStatus.QUEUED}


def test_a_job_published_again_waits_twice_as_long_before_the_next_time(rt: Runtime) -> None:
    (job_id,) = lost_jobs(rt, 1)
    now = time.time()
    rt.store.sweep(10, now=now)
    assert rt.redis.zscore(rt.keys.leases, job_id) == pytest.approx(now + QUEUED_LEASE)
    later = now + QUEUED_LEASE + 1
    assert [e.job_id for e in rt.store.sweep(10, now=later)] == [job_id]
    assert rt.redis.zscore(rt.keys.leases, job_id) == pytest.approx(later + 2 * QUEUED_LEASE)


def test_a_running_job_whose_worker_died_is_queued_again_with_its_failure(
    rt: Runtime, own_redis: RedisServer
) -> None:
    job_id = new_job(rt)
    rt.store.claim(job_id, "dead-task", lease=0.001)
    time.sleep(0.01)
    sweep(rt, make_celery(rt.settings))
    job = rt.store.get(job_id)
    assert (job.status, job.owner, job.last_error) == (JobStatus.QUEUED, None, LEASE_EXPIRED)
    assert published(own_redis, PREDICTIONS_QUEUE) == [[[job_id]]]


def test_only_the_stranded_part_of_a_batch_is_published_again(
    rt: Runtime, own_redis: RedisServer
) -> None:
    job_id = rt.store.create(JobType.BATCH, params={}, model_version="v", total=3)[0]
    rt.store.claim(job_id, "plan", lease=30)
    rt.store.hand_to_parts(job_id, [0, 1, 2])
    for part, lease in ((0, 30), (1, 0.001), (2, 30)):
        rt.store.claim_part(job_id, part, f"task-{part}", lease=lease, max_attempts=3, ttl=600)
    time.sleep(0.01)
    sweep(rt, make_celery(rt.settings))
    assert published(own_redis, BATCHES_QUEUE) == [[job_id, 1]]
    assert rt.redis.hget(rt.keys.batch_parts(job_id), "1:owner") is None
    assert rt.redis.hget(rt.keys.batch_parts(job_id), "1:error").decode() == LEASE_EXPIRED


def test_leases_of_finished_or_expired_jobs_are_dropped_without_publishing(
    rt: Runtime, own_redis: RedisServer
) -> None:
    cancelled, expired = lost_jobs(rt, 2)
    rt.store.claim(cancelled, "t", lease=30)
    rt.store.claim_part(cancelled, 0, "p", lease=0.001, max_attempts=3, ttl=600)
    rt.store.cancel(cancelled)
    rt.redis.delete(rt.keys.job(expired))
    time.sleep(0.01)
    assert sweep(rt, make_celery(rt.settings)) == 0
    assert rt.redis.zcard(rt.keys.leases) == 0
