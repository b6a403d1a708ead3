"""Listing jobs from the recent-jobs indexes, page by page, against a real Redis."""

from __future__ import annotations

import pytest

from core.errors import InvalidRequest
from core.jobs import Cursor, JobStatus, JobStore, JobType, Outcome
from core.keys import Keys
from devsupport import RedisServer

pytestmark = pytest.mark.integration


@pytest.fixture
def store(own_redis: RedisServer) -> JobStore:
    return JobStore(own_redis.client(), keys=Keys("t"), ttl=600, index_ttl=3_600)


def new_job(store: JobStore, tenant: str = "acme", job_type: JobType = JobType.PREDICTION) -> str:
    job_id, _ = store.create(
        job_type, params={"instances": [{}]}, model_version="v", total=1, tenant=tenant
    )
    return job_id


def every_page(store: JobStore, **kw) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = store.page(cursor=cursor, **kw)
        pages.append([j.id for j in page.jobs])
        if page.next_cursor is None:
            return pages
        cursor = Cursor.decode(page.next_cursor.encode())


def test_pages_hold_every_job_once_newest_first(store: JobStore) -> None:
    ids = [new_job(store) for _ in range(23)]
    pages = every_page(store, limit=5, tenant="acme")
    assert [len(p) for p in pages] == [5, 5, 5, 5, 3]
    assert [i for p in pages for i in p] == ids[::-1]


def test_jobs_created_at_the_same_instant_are_each_listed_once(store: JobStore) -> None:
    ids = [new_job(store) for _ in range(7)]
    index = store.keys.tenant_recent_jobs("acme")
    store.redis.zadd(index, dict.fromkeys(ids, 1_700_000_000.5))  # every score the same
    listed = [i for p in every_page(store, limit=2, tenant="acme") for i in p]
    assert listed == sorted(ids, reverse=True)


def test_a_listing_reads_no_result(store: JobStore) -> None:
    job_id = new_job(store)
    store.claim(job_id, "task", lease=30)
    store.finish(Outcome(job_id, JobStatus.SUCCEEDED, result={"predictions": [1] * 1000}))
    (job,) = store.page(limit=5, tenant="acme").jobs
    assert (job.status, job.result_json, job.params_json) == (JobStatus.SUCCEEDED, None, None)
    assert job.finished_at is not None


def test_a_filter_finds_matches_past_other_jobs(store: JobStore) -> None:
    batch = new_job(store, job_type=JobType.BATCH)
    for _ in range(30):
        new_job(store)
    page = store.page(limit=5, tenant="acme", job_type=JobType.BATCH)
    assert ([j.id for j in page.jobs], page.next_cursor) == ([batch], None)


def test_a_filter_stops_at_the_scan_limit_with_a_cursor_to_go_on(store: JobStore) -> None:
    batch = new_job(store, job_type=JobType.BATCH)
    for _ in range(30):
        new_job(store)
    pages = every_page(store, limit=5, tenant="acme", job_type=JobType.BATCH, scan_limit=10)
    assert pages == [[], [], [], [batch]]


def test_a_status_filter_lists_only_that_status(store: JobStore) -> None:
    ids = [new_job(store) for _ in range(6)]
    for job_id in ids[::2]:
        store.claim(job_id, "task", lease=30)
    listed = store.page(limit=10, tenant="acme", status=JobStatus.RUNNING).jobs
    assert [j.id for j in listed] == ids[::2][::-1]


def test_an_expired_job_is_skipped_and_leaves_the_index(store: JobStore) -> None:
    ids = [new_job(store) for _ in range(4)]
    store.redis.delete(store.keys.job(ids[1]))  # as its TTL would
    index = store.keys.tenant_recent_jobs("acme")
    assert [j.id for j in store.page(limit=10, tenant="acme").jobs] == [ids[3], ids[2], ids[0]]
    assert store.redis.zscore(index, ids[1]) is None
    assert store.redis.zcard(index) == 3


def test_every_jobs_index_lists_all_tenants(store: JobStore) -> None:
    ids = [new_job(store, tenant=t) for t in ("a", "b", "c")]
    assert [j.id for j in store.page(limit=10).jobs] == ids[::-1]


def test_a_short_lived_job_does_not_trim_a_long_lived_one_from_the_indexes(
    own_redis: RedisServer,
) -> None:
    client, keys = own_redis.client(), Keys("t")
    batches = JobStore(client, keys=keys, ttl=3_000, index_ttl=3_000)
    predictions = JobStore(client, keys=keys, ttl=60, index_ttl=3_000)
    old = new_job(batches, job_type=JobType.BATCH)
    for index in (keys.tenant_recent_jobs("acme"), keys.recent_jobs):  # made 10 minutes ago
        client.zadd(index, {old: client.zscore(index, old) - 600})
    new = new_job(predictions)
    assert [j.id for j in predictions.page(limit=10, tenant="acme").jobs] == [new, old]
    assert [j.id for j in predictions.page(limit=10).jobs] == [new, old]
    assert client.ttl(keys.tenant_recent_jobs("acme")) > 2_900


@pytest.mark.parametrize("text", ["", "nope", "1.5.3~x", " 5~x", "5~", "inf~x", "nan~x", "5|x"])
def test_a_cursor_of_another_shape_is_refused(text: str) -> None:
    with pytest.raises(InvalidRequest, match="cursor"):
        Cursor.decode(text)


def test_a_cursor_of_the_right_shape_lists_what_came_before_it(store: JobStore) -> None:
    ids = [new_job(store) for _ in range(4)]
    score = store.redis.zscore(store.keys.tenant_recent_jobs("acme"), ids[2])
    page = store.page(limit=10, tenant="acme", cursor=Cursor.decode(f"{score!r}~{ids[2]}"))
    assert ([j.id for j in page.jobs], page.next_cursor) == ([ids[1], ids[0]], None)
