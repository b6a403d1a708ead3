"""Per-tenant quotas in the job store: taken with a job's creation, ended with its finish."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.apikeys import Tenancy
from core.errors import QuotaExceeded, StorageQuotaExceeded
from core.jobs import JobStatus, JobStore, JobType, Outcome
from core.keys import Keys
from devsupport import RedisServer

pytestmark = pytest.mark.integration
LIMITS = Tenancy(max_active_jobs=5, max_active_batches=2, max_stored_bytes=1_000)


@pytest.fixture
def store(own_redis: RedisServer) -> JobStore:
    return JobStore(own_redis.client(), keys=Keys("q"), ttl=600)


def submit(store: JobStore, tenant: str = "acme", kind: JobType = JobType.PREDICTION, **kw) -> str:
    job_id, created = store.create(
        kind, params={}, model_version="v", total=1, tenant=tenant, tenancy=LIMITS, **kw
    )
    assert created
    return job_id


def test_a_tenant_at_its_active_job_quota_gets_429_naming_it_and_nothing_is_written(
    store: JobStore,
) -> None:
    for _ in range(5):
        submit(store)
    before = store.redis.dbsize()
    with pytest.raises(QuotaExceeded) as refused:
        submit(store)
    assert refused.value.status == 429
    assert refused.value.errors == [{"loc": ["quota", "active_jobs"], "msg": "limit 5 reached"}]
    assert store.redis.dbsize() == before
    submit(store, tenant="other")  # another tenant's quota is its own


def test_finishing_or_cancelling_a_job_gives_its_share_back(store: JobStore) -> None:
    ids = [submit(store) for _ in range(5)]
    store.finish(Outcome(ids[0], JobStatus.FAILED, error={"type": "X"}))
    store.cancel(ids[1])
    assert store.usage("acme")["active_jobs"] == 3
    submit(store)
    submit(store)
    with pytest.raises(QuotaExceeded):
        submit(store)


def test_concurrent_batches_and_stored_bytes_have_their_own_limits(store: JobStore) -> None:
    a = submit(store, kind=JobType.BATCH, stored_bytes=400)
    submit(store, kind=JobType.BATCH, stored_bytes=400)
    with pytest.raises(QuotaExceeded) as refused:
        submit(store, kind=JobType.BATCH, stored_bytes=1)
    assert refused.value.errors[0]["loc"] == ["quota", "active_batches"]
    store.finish(Outcome(a, JobStatus.SUCCEEDED, result={}, stored_bytes=500))
    assert store.usage("acme") == {"active_jobs": 1, "active_batches": 1, "stored_bytes": 900}
    with pytest.raises(StorageQuotaExceeded) as too_big:
        submit(store, kind=JobType.BATCH, stored_bytes=101)
    assert too_big.value.status == 413
    assert too_big.value.errors[0]["loc"] == ["quota", "stored_bytes"]
    submit(store, kind=JobType.BATCH, stored_bytes=100)


def test_a_failed_or_discarded_batch_leaves_no_stored_bytes(store: JobStore) -> None:
    failed = submit(store, kind=JobType.BATCH, stored_bytes=300)
    discarded = submit(store, kind=JobType.BATCH, stored_bytes=300, idempotency_key="k")
    store.finish(Outcome(failed, JobStatus.FAILED, error={"type": "X"}, stored_bytes=999))
    store.discard(discarded, "k")
    assert store.usage("acme") == {"active_jobs": 0, "active_batches": 0, "stored_bytes": 0}
    assert store.redis.get(store.keys.idempotency("acme", "k")) is None


def test_a_share_lapses_when_its_unfinished_job_expires(own_redis: RedisServer) -> None:
    store = JobStore(own_redis.client(), keys=Keys("q"), ttl=60)
    submit(store, kind=JobType.BATCH, stored_bytes=1_000)
    later = time.time() + 61  # the record is gone by then: the share must be too
    jobs, batches, files, _ = store.keys.tenant_quota("acme")
    for key in (jobs, batches, files):  # what the clock does to the scores, done at once
        member, _ = store.redis.zrange(key, 0, 0, withscores=True)[0]
        store.redis.zadd(key, {member: later - 120})
    assert store.usage("acme") == {"active_jobs": 0, "active_batches": 0, "stored_bytes": 1_000}
    submit(store, kind=JobType.BATCH, stored_bytes=1_000)  # the lapsed bytes were pruned
    assert store.usage("acme") == {"active_jobs": 1, "active_batches": 1, "stored_bytes": 1_000}


def test_concurrent_submissions_never_exceed_the_quota_and_count_exactly(
    store: JobStore,
) -> None:
    limits = Tenancy(max_active_jobs=50, max_active_batches=50, max_stored_bytes=10**9)

    def one(_: int) -> bool:
        try:
            store.create(
                JobType.PREDICTION,
                params={},
                model_version="v",
                total=1,
                tenant="acme",
                tenancy=limits,
            )
        except QuotaExceeded:
            return False
        return True

    with ThreadPoolExecutor(16) as pool:
        made = sum(pool.map(one, range(200)))
    assert made == 50
    assert store.usage("acme")["active_jobs"] == 50
    ids = [j.id for j in store.recent(limit=200, tenant="acme")]
    assert len(ids) == 50
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: store.finish(Outcome(i, JobStatus.SUCCEEDED, result={})), ids))
    assert store.usage("acme") == {"active_jobs": 0, "active_batches": 0, "stored_bytes": 0}


def test_idempotency_keys_are_per_tenant(store: JobStore) -> None:
    mine = submit(store, tenant="acme", idempotency_key="same")
    theirs = submit(store, tenant="other", idempotency_key="same")
    assert mine != theirs
    again, created = store.create(
        JobType.PREDICTION,
        params={},
        model_version="v",
        total=1,
        tenant="acme",
        tenancy=LIMITS,
        idempotency_key="same",
    )
    assert (again, created) == (mine, False)


def test_lapsed_shares_are_pruned_when_the_quota_is_reached(own_redis: RedisServer) -> None:
    store = JobStore(own_redis.client(), keys=Keys("q"), ttl=60)
    for _ in range(5):  # at the limit of active jobs, then every share lapses
        submit(store)
    jobs, _, _, _ = store.keys.tenant_quota("acme")
    for member in store.redis.zrange(jobs, 0, -1):
        store.redis.zadd(jobs, {member: time.time() - 1})
    submit(store)  # taken: the lapsed shares no longer count
    assert store.redis.zcard(jobs) == 1
    for _ in range(4):
        submit(store)
    with pytest.raises(QuotaExceeded):
        submit(store)


def test_a_finished_prediction_keeps_no_share_and_a_finished_batch_none_either(
    store: JobStore,
) -> None:
    prediction = submit(store)
    batch = submit(store, kind=JobType.BATCH, stored_bytes=10)
    store.finish(Outcome(prediction, JobStatus.SUCCEEDED, result={}))
    store.finish(Outcome(batch, JobStatus.SUCCEEDED, result={}, stored_bytes=10))
    jobs, batches, _, _ = store.keys.tenant_quota("acme")
    assert store.redis.zcard(jobs) == 0
    assert store.redis.zcard(batches) == 0
    assert store.usage("acme") == {"active_jobs": 0, "active_batches": 0, "stored_bytes": 10}
