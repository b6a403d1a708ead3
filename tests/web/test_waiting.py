"""Long-poll wake-ups against a real Redis: a wait registered before its job is written."""

from __future__ import annotations

import pytest

from core.jobs import JobStatus, JobStore, JobType, Outcome, new_job_id
from core.keys import Keys
from devsupport import RedisServer
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
