"""The job store's transitions, against a real Redis."""

from __future__ import annotations

import time
from functools import partial

import pytest

from core import prediction_log
from core.jobs import ClaimOutcome, Job, JobStatus, JobStore, JobType, Outcome, PartClaim, Release
from core.keys import Keys
from core.prediction_log import LogRecord
from devsupport import RedisServer
from tests.logged import logged_records

pytestmark = pytest.mark.integration


@pytest.fixture
def store(own_redis: RedisServer) -> JobStore:
    return JobStore(own_redis.client(), keys=Keys("t"), ttl=600)


def logged(job_id: str, n: int = 1, first: float = 0.0) -> list[LogRecord]:
    """The log records of ``n`` predictions of a job (survival ``first``, ``first + 1``, …)."""
    return prediction_log.records(
        job_id,
        "v",
        numbers=range(n),
        features={"age": [float(k) for k in range(n)]},
        prediction=["died"] * n,
        probabilities={"survived": [first + k for k in range(n)]},
    )


def new_job(store: JobStore, **kw) -> str:
    job_id, created = store.create(
        JobType.PREDICTION, params={"instances": [{}]}, model_version="v", total=1, **kw
    )
    assert created
    return job_id


def test_a_new_job_is_queued_with_its_ttl(store: JobStore) -> None:
    job_id = new_job(store)
    job = store.get(job_id)
    assert job.status is JobStatus.QUEUED
    assert 590 < store.redis.ttl(store.keys.job(job_id)) <= 600


def test_the_record_a_submission_answers_with_is_the_one_stored(store: JobStore) -> None:
    for extra in (
        {},
        {
            "routing": "canary",
            "fingerprint": "f",
            "tenant": "acme",
            "callback_url": "https://example.org/hook",
            "idempotency_key": "k",
        },
    ):
        job_id, record = store.create_job(
            JobType.PREDICTION,
            params={"instances": [{"age": 3}]},
            model_version="v",
            total=2,
            **extra,
        )
        assert record == store.get(job_id)


def test_a_finished_job_never_goes_back_to_running(store: JobStore) -> None:
    job_id = new_job(store)
    assert store.claim(job_id, "task-1", lease=30) is ClaimOutcome.CLAIMED
    assert store.finish(Outcome(job_id, JobStatus.SUCCEEDED, result={"x": 1}))
    assert store.claim(job_id, "task-1", lease=30) is ClaimOutcome.TERMINAL
    assert store.get(job_id).status is JobStatus.SUCCEEDED


def test_a_job_finishes_once(store: JobStore) -> None:
    job_id = new_job(store)
    store.claim(job_id, "task-1", lease=30)
    assert store.finish(
        Outcome(job_id, JobStatus.SUCCEEDED, result={"n": 1}, log_records=logged(job_id))
    )
    assert not store.finish(
        Outcome(job_id, JobStatus.FAILED, error={"type": "X"}, log_records=logged(job_id))
    )
    job = store.get(job_id)
    assert (job.status, job.result, job.error) == (JobStatus.SUCCEEDED, {"n": 1}, None)
    assert store.redis.xlen(store.keys.prediction_log) == 1


def test_a_job_claimed_by_a_live_task_is_busy_for_others(store: JobStore) -> None:
    job_id = new_job(store)
    assert store.claim(job_id, "task-1", lease=30) is ClaimOutcome.CLAIMED
    assert store.claim(job_id, "task-2", lease=30) is ClaimOutcome.BUSY
    assert store.claim(job_id, "task-1", lease=30) is ClaimOutcome.CLAIMED  # redelivery


def test_an_expired_claim_can_be_taken_over(store: JobStore) -> None:
    job_id = new_job(store)
    store.claim(job_id, "task-1", lease=0)  # its lease has run out at once
    assert store.claim(job_id, "task-2", lease=30) is ClaimOutcome.CLAIMED
    assert store.get(job_id).owner == "task-2"


def test_cancelled_job_is_not_claimed(store: JobStore) -> None:
    job_id = new_job(store)
    assert store.cancel(job_id).status is JobStatus.CANCELLED
    assert store.claim(job_id, "task-1", lease=30) is ClaimOutcome.TERMINAL
    assert store.claim_batch("task-1", [job_id], lease=30, max_jobs=10, max_rows=100) == ([], [])


def test_a_batch_claims_its_own_jobs_then_queued_ones_up_to_the_row_limit(
    store: JobStore,
) -> None:
    ids = [new_job(store) for _ in range(6)]
    got, _ = store.claim_batch("task-1", [ids[4]], lease=30, max_jobs=10, max_rows=3)
    assert got == [ids[4], ids[0], ids[1]]
    got2, _ = store.claim_batch("task-2", [ids[4]], lease=30, max_jobs=10, max_rows=100)
    assert got2 == [ids[2], ids[3], ids[5]]  # its own job is busy with task-1


def test_a_redelivered_task_takes_back_every_job_it_had_claimed(store: JobStore) -> None:
    ids = [new_job(store) for _ in range(3)]
    first, _ = store.claim_batch("task-1", [ids[0]], lease=30, max_jobs=10, max_rows=100)
    assert first == ids
    again, _ = store.claim_batch("task-1", [ids[0]], lease=30, max_jobs=10, max_rows=100)
    assert sorted(again) == sorted(ids)
    assert [store.get(i).owner for i in ids] == ["task-1"] * 3


def test_finishing_a_batch_forgets_its_claims(store: JobStore) -> None:
    ids = [new_job(store) for _ in range(2)]
    store.claim_batch("task-1", ids, lease=30, max_jobs=10, max_rows=100)
    done, log_length = store.finish_batch(
        [Outcome(i, JobStatus.SUCCEEDED, result={}, log_records=logged(i, 3)) for i in ids],
        "task-1",
    )
    assert (done, log_length) == ([True, True], 6)  # predictions, not entries
    assert store.redis.exists(store.keys.claims("task-1")) == 0


def test_claimed_jobs_come_with_their_records_as_the_claim_left_them(store: JobStore) -> None:
    ids = [new_job(store) for _ in range(2)]
    jobs, poisoned = store.claim_jobs("task-1", [ids[1]], lease=30, max_jobs=10, max_rows=100)
    assert poisoned == []
    assert [j.id for j in jobs] == [ids[1], ids[0]]
    assert [(j.status, j.owner, j.attempts) for j in jobs] == [(JobStatus.RUNNING, "task-1", 1)] * 2
    assert jobs[0].params == {"instances": [{}]}


def test_a_batch_finishes_once_after_redis_forgot_the_finish_script(store: JobStore) -> None:
    ids = [new_job(store) for _ in range(2)]
    store.claim_batch("task-1", ids, lease=30, max_jobs=10, max_rows=100)
    store.finish_batch([Outcome(ids[0], JobStatus.SUCCEEDED, result={})], "task-0")
    store.redis.script_flush()  # a restarted Redis holds no script
    done, log_length = store.finish_batch(
        [Outcome(i, JobStatus.SUCCEEDED, result={}, log_records=logged(i, 2)) for i in ids],
        "task-1",
    )
    assert (done, log_length) == ([False, True], 2)  # the first had finished already
    assert [store.get(i).status for i in ids] == [JobStatus.SUCCEEDED] * 2
    assert store.redis.exists(store.keys.claims("task-1")) == 0


def test_idempotency_key_returns_the_first_job(store: JobStore) -> None:
    first = new_job(store, idempotency_key="k")
    again, created = store.create(
        JobType.PREDICTION, params={}, model_version="v", total=1, idempotency_key="k"
    )
    assert (again, created) == (first, False)


def test_unknown_job_is_not_found(store: JobStore) -> None:
    from core.errors import JobNotFound

    with pytest.raises(JobNotFound):
        store.get("nope")


def _done_message(store: JobStore, outcome: Outcome) -> bytes:
    pubsub = store.redis.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(store.keys.done_channel)
    pubsub.get_message(timeout=1)
    store.claim(outcome.job_id, "task-1", lease=30)
    store.finish(outcome)
    message = pubsub.get_message(timeout=2)
    return message["data"]


def test_finishing_publishes_the_job_id_with_the_finished_record(store: JobStore) -> None:
    job_id = new_job(store)
    result = {"predictions": [{"id": "a/b", "label": 'é "quoted"'}]}
    data = _done_message(store, Outcome(job_id, JobStatus.SUCCEEDED, result=result))
    assert Job.done_message_job_id(data) == job_id
    got_id, record = Job.from_done_message(data)
    assert got_id == job_id
    assert record == store.get(job_id)  # what a read after the message would answer
    assert record.result == result


def test_a_job_whose_result_is_stored_apart_publishes_its_id_alone(store: JobStore) -> None:
    job_id = new_job(store)
    big = {"rows": ["x" * 100] * 200}  # over the 8 KiB a record keeps inline
    data = _done_message(store, Outcome(job_id, JobStatus.SUCCEEDED, result=big))
    assert Job.from_done_message(data) == (job_id, None)
    assert store.get(job_id).result == big


def lease_of(store: JobStore, member: str) -> float | None:
    return store.redis.zscore(store.keys.leases, member)


def test_a_job_is_leased_from_its_creation_until_it_finishes(store: JobStore) -> None:
    before = time.time()
    job_id = new_job(store)
    assert before + store.queued_lease <= lease_of(store, job_id) <= time.time() + 60
    store.claim(job_id, "task-1", lease=300)
    assert lease_of(store, job_id) >= before + 300
    store.finish(Outcome(job_id, JobStatus.SUCCEEDED, result={}))
    assert lease_of(store, job_id) is None


def test_a_cancelled_or_discarded_job_holds_no_lease(store: JobStore) -> None:
    cancelled, discarded = new_job(store), new_job(store)
    store.cancel(cancelled)
    store.discard(discarded)
    assert store.redis.zcard(store.keys.leases) == 0


def test_a_job_taken_max_attempts_times_is_poison(store: JobStore) -> None:
    job_id = new_job(store)
    outcomes = [store.claim(job_id, "task-1", lease=30, max_attempts=3) for _ in range(4)]
    assert outcomes == [ClaimOutcome.CLAIMED] * 3 + [ClaimOutcome.POISON]
    assert store.get(job_id).attempts == 3


def test_a_redelivered_prediction_task_past_max_attempts_gets_its_jobs_as_poison(
    store: JobStore,
) -> None:
    ids = [new_job(store) for _ in range(2)]
    for _ in range(2):
        store.claim_batch("task-1", ids, lease=30, max_jobs=10, max_rows=100, max_attempts=2)
    taken, poisoned = store.claim_batch(
        "task-1", ids, lease=30, max_jobs=10, max_rows=100, max_attempts=2
    )
    assert (taken, sorted(poisoned)) == ([], sorted(ids))


def test_a_part_held_by_a_live_task_is_busy_and_a_handed_back_one_costs_no_attempt(
    store: JobStore,
) -> None:
    job_id = new_job(store)
    store.claim(job_id, "plan", lease=30)
    claim = partial(store.claim_part, job_id, 0, lease=30, max_attempts=2, ttl=600)
    assert claim("part-a").outcome == "claimed"
    assert claim("part-b").outcome == "busy"
    assert store.release_part(job_id, 0, "part-a", Release.HANDBACK)
    assert claim("part-b").outcome == "claimed"
    assert not store.release_part(job_id, 0, "part-a", Release.DONE)  # no longer its part
    assert store.release_part(job_id, 0, "part-b", Release.RETRY, "Boom: it broke")
    assert claim("part-c").outcome == "claimed"  # the second attempt that counts
    assert store.release_part(job_id, 0, "part-c", Release.RETRY, "Boom: again")
    assert claim("part-d") == PartClaim("poison", 2, "Boom: again")


def test_a_claimed_record_names_the_worker_that_claimed_it_last(store: JobStore) -> None:
    one, two = new_job(store), new_job(store)
    store.claim(one, "task-1", lease=0, node="scoring@host-a")
    store.claim(one, "task-2", lease=30, node="scoring@host-b")  # the first lease ran out
    store.claim_batch("task-3", [two], lease=30, max_jobs=1, max_rows=10, node="scoring@host-c")
    assert (store.get(one).node, store.get(two).node) == ("scoring@host-b", "scoring@host-c")


def test_a_done_part_keeps_the_name_of_the_worker_that_scored_it(store: JobStore) -> None:
    job_id = new_job(store)
    store.claim(job_id, "plan", lease=30)
    claim = partial(store.claim_part, job_id, lease=30, max_attempts=3, ttl=600)
    claim(0, "part-0", node="scoring@host-a")
    claim(1, "part-1", node="scoring@host-a")
    store.release_part(job_id, 1, "part-1", Release.HANDBACK)  # its worker stopped
    claim(1, "part-1b", node="scoring@host-b")
    for part, owner in ((0, "part-0"), (1, "part-1b")):
        store.release_part(job_id, part, owner, Release.DONE)
    parts = store.redis.hgetall(store.keys.batch_parts(job_id))
    assert (parts[b"0:node"], parts[b"1:node"]) == (b"scoring@host-a", b"scoring@host-b")


def test_a_part_of_a_job_that_stopped_running_ends_its_lease(store: JobStore) -> None:
    job_id = new_job(store)
    store.claim(job_id, "plan", lease=30)
    store.hand_to_parts(job_id, [0, 1])
    assert lease_of(store, job_id) is None
    store.cancel(job_id)
    assert store.claim_part(job_id, 0, "p", lease=30, max_attempts=3, ttl=600).outcome == "stopped"
    assert store.redis.zrange(store.keys.leases, 0, -1) == [
        store.keys.lease_part(job_id, 1).encode()
    ]


def test_the_prediction_log_is_trimmed_to_about_its_length_in_predictions(
    own_redis: RedisServer,
) -> None:
    keys = Keys("trim")
    store = JobStore(own_redis.client(), keys=keys, ttl=600, log_maxlen=1_000)
    for i in range(30):
        job_id = new_job(store)
        store.claim(job_id, "task-1", lease=30)
        records = logged(job_id, 100, first=100.0 * i)
        store.finish(Outcome(job_id, JobStatus.SUCCEEDED, result={}, log_records=records))
    # 3,000 predictions were appended, 100 per entry: whole entries are dropped while
    # at least the newest 1,000 remain, so exactly the newest 1,000 are kept
    kept = logged_records(store.redis, keys)
    assert sum(len(r) for r in kept) == 1_000 == int(store.redis.get(keys.prediction_log_rows))
    survived = [p for r in kept for p in r.probabilities["survived"]]
    assert survived == [float(k) for k in range(2_000, 3_000)]


def test_the_log_keeps_at_least_its_length_and_less_than_one_entry_more(
    own_redis: RedisServer,
) -> None:
    keys = Keys("uneven")
    store = JobStore(own_redis.client(), keys=keys, ttl=600, log_maxlen=1_000)
    for size in (700, 600, 1, 1, 450):
        job_id = new_job(store)
        store.claim(job_id, "task-1", lease=30)
        store.finish(Outcome(job_id, JobStatus.SUCCEEDED, log_records=logged(job_id, size)))
    # 1,752 predictions: dropping the 700 leaves 1,052; dropping the 600 too would leave 452
    assert [len(r) for r in logged_records(store.redis, keys)] == [600, 1, 1, 450]
    assert int(store.redis.get(keys.prediction_log_rows)) == 1_052


def test_a_large_result_lives_under_its_own_key_with_the_jobs_ttl(store: JobStore) -> None:
    small, large = new_job(store), new_job(store)
    big = {"predictions": [{"id": k, "prediction": "died"} for k in range(1000)]}
    for job_id, result in ((small, {"predictions": [1]}), (large, big)):
        store.claim(job_id, "task", lease=30)
        store.finish(Outcome(job_id, JobStatus.SUCCEEDED, result=result))
    assert store.redis.hget(store.keys.job(large), "result") is None
    assert store.redis.exists(store.keys.job_result(small)) == 0
    assert 590 < store.redis.ttl(store.keys.job_result(large)) <= 600
    assert (store.get(small).result, store.get(large).result) == ({"predictions": [1]}, big)
