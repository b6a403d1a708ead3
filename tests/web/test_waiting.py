"""Long-poll wake-ups against a real Redis: a wait registered before its job is written."""

from __future__ import annotations

import threading

import pytest
import redis

from core.jobs import JobStatus, JobStore, JobType, Outcome, new_job_id
from core.keys import Keys
from devsupport import RedisServer, wait_until
from devsupport.redis_server import start_redis
from web.waiting import CompletionWaiter

pytestmark = pytest.mark.integration


def test_a_wait_registered_before_the_job_is_written_sees_it_finish_before_its_publish(
    own_redis: RedisServer,
) -> None:
    # micro-batching: another task may claim a queued prediction job and finish it before
    # the web has published the job's own message; a POST ?wait must still be woken
    store = JobStore(own_redis.client(), keys=Keys("t"), ttl=600)
    waiter = CompletionWaiter(own_redis.client, store.done_channel)
    job_id = new_job_id()
    with waiter.watch(job_id) as done:
        got, record = store.create_job(
            JobType.PREDICTION, params={}, model_version="v", total=1, job_id=job_id
        )
        assert (got, record is not None) == (job_id, True)
        claimed, _ = store.claim_batch("another-task", [], lease=30, max_jobs=10, max_rows=10)
        assert claimed == [job_id]  # taken from the pending list, its message never sent
        finished, _ = store.finish_batch(
            [Outcome(job_id, JobStatus.SUCCEEDED, result={})], "another-task"
        )
        assert finished == [True]
        assert done.wait(10), "the completion of a job finished before its publish was missed"
        assert waiter.finished(job_id) == store.get(job_id)  # the message carried the record
    assert waiter.finished(job_id) is None  # nobody waits: not kept


def test_a_listener_whose_redis_went_away_stops_when_nobody_waits_and_a_new_wait_resumes(
    own_redis: RedisServer, tmp_path
) -> None:
    # a web whose Redis is gone must not retry (and log) forever for nobody; the next
    # long-poll starts listening again
    server = {"now": own_redis}  # where the web's Redis answers
    store = JobStore(own_redis.client(), keys=Keys("t"), ttl=600)

    def connect() -> redis.Redis:
        return server["now"].client()

    waiter = CompletionWaiter(connect, store.done_channel)
    with waiter.watch(new_job_id()):
        listener = waiter._thread
    assert listener is not None
    assert listener.is_alive()
    own_redis.proc.stop()
    listener.join(10)
    assert not listener.is_alive(), "the listener kept retrying with nobody waiting"

    restarted = server["now"] = start_redis(tmp_path / "again")  # back, at a new address
    store = JobStore(restarted.client(), keys=Keys("t"), ttl=600)
    try:
        job_id = new_job_id()
        with waiter.watch(job_id) as done:
            store.create_job(
                JobType.PREDICTION, params={}, model_version="v", total=1, job_id=job_id
            )
            store.claim_batch("task", [], lease=30, max_jobs=10, max_rows=10)
            store.finish_batch([Outcome(job_id, JobStatus.SUCCEEDED, result={})], "task")
            assert done.wait(10), "a wait after the outage was not woken"
    finally:
        restarted.proc.stop()


def test_a_job_finished_while_the_listener_resubscribes_still_wakes_its_wait(
    own_redis: RedisServer,
) -> None:
    # its done message went out while nobody listened: the wait must re-read the job once
    # the listener is back, not sleep until its deadline (a POST ?wait answered 202)
    store = JobStore(own_redis.client(), keys=Keys("t"), ttl=600)
    gate = threading.Event()  # cleared: the listener's next connect waits
    gate.set()

    def connect() -> redis.Redis:
        assert gate.wait(10)
        return own_redis.client()

    waiter = CompletionWaiter(connect, store.done_channel)
    job_id, _ = store.create_job(JobType.PREDICTION, params={}, model_version="v", total=1)
    with waiter.watch(job_id) as done:
        gate.clear()
        assert own_redis.client().client_kill_filter(_type="pubsub") == 1
        assert done.wait(10), "the lost subscription did not wake the wait"
        done.clear()
        claimed, _ = store.claim_batch("a-task", [], lease=30, max_jobs=10, max_rows=10)
        assert claimed == [job_id]
        finished, _ = store.finish_batch(
            [Outcome(job_id, JobStatus.SUCCEEDED, result={})], "a-task"
        )
        assert finished == [True]
        gate.set()
        assert done.wait(10), "a job finished while the listener resubscribed was missed"


def finish(store: JobStore, job_id: str) -> None:
    claimed, _ = store.claim_batch("a-task", [], lease=30, max_jobs=10, max_rows=10)
    assert claimed == [job_id]
    assert store.finish_batch([Outcome(job_id, JobStatus.SUCCEEDED, result={})], "a-task")[0] == [
        True
    ]


def test_a_job_written_here_is_expected_until_it_finishes_then_its_record_answers_polls(
    own_redis: RedisServer,
) -> None:
    store = JobStore(own_redis.client(), keys=Keys("t"), ttl=600)
    waiter = CompletionWaiter(own_redis.client, store.done_channel)
    with waiter.watch("someone-else"):  # the listener is subscribed
        job_id = new_job_id()
        waiter.expect(job_id, "acme")
        store.create_job(JobType.PREDICTION, params={}, model_version="v", total=1, job_id=job_id)
        assert waiter.expected_tenant(job_id) == "acme"  # a poll need not read it
        assert waiter.recently_finished(job_id) is None
        finish(store, job_id)
        wait_until(lambda: waiter.expected_tenant(job_id) is None, 10, "its done message")
        wait_until(lambda: waiter.recently_finished(job_id) is not None, 10, "its record kept")
        assert waiter.recently_finished(job_id) == (store.get(job_id), "acme")


def test_a_job_with_a_callback_is_read_after_it_finished_its_webhook_fields_still_change(
    own_redis: RedisServer,
) -> None:
    store = JobStore(own_redis.client(), keys=Keys("t"), ttl=600)
    waiter = CompletionWaiter(own_redis.client, store.done_channel)
    with waiter.watch("someone-else"):
        job_id = new_job_id()
        waiter.expect(job_id, "acme")
        store.create_job(
            JobType.PREDICTION,
            params={},
            model_version="v",
            total=1,
            job_id=job_id,
            callback_url="https://example.org/hook",
        )
        finish(store, job_id)
        wait_until(lambda: waiter.expected_tenant(job_id) is None, 10, "its done message")
        assert waiter.recently_finished(job_id) is None


def test_nothing_is_expected_while_unsubscribed_and_a_lost_subscription_forgets_all(
    own_redis: RedisServer,
) -> None:
    store = JobStore(own_redis.client(), keys=Keys("t"), ttl=600)
    gate = threading.Event()
    gate.set()

    def connect() -> redis.Redis:
        assert gate.wait(10)
        return own_redis.client()

    waiter = CompletionWaiter(connect, store.done_channel)
    waiter.expect("before-any-listener", "acme")
    assert waiter.expected_tenant("before-any-listener") is None  # its message could be missed
    with waiter.watch("someone-else"):
        waiter.expect("job-1", "acme")
        assert waiter.expected_tenant("job-1") == "acme"
        gate.clear()  # the listener's reconnect waits
        assert own_redis.client().client_kill_filter(_type="pubsub") == 1
        wait_until(lambda: waiter.expected_tenant("job-1") is None, 10, "the lost subscription")
        waiter.expect("job-2", "acme")
        assert waiter.expected_tenant("job-2") is None  # not subscribed now
        gate.set()
