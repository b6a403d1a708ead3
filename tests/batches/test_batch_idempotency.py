"""``Idempotency-Key`` on ``POST /batches``: a retried upload is one job, with one file."""

from __future__ import annotations

import threading
import uuid

import pytest
import requests

from devsupport import Stack
from tests.batches.helpers import counts, finished, rows, to_csv, upload, uploads

pytestmark = pytest.mark.integration


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def test_a_retried_upload_with_the_same_key_is_the_same_job_queued_once_with_one_file(
    idle_stack: Stack,
) -> None:
    key = str(uuid.uuid4())
    body = to_csv(rows(10))
    jobs_before, queued_before = counts(idle_stack)
    files_before = uploads(idle_stack)
    first = upload(idle_stack, body, headers=keyed(key), id_column="passenger")
    again = upload(idle_stack, body, headers=keyed(key), id_column="passenger")
    as_multipart = idle_stack.http.post(  # the same file and parameters, sent another way
        idle_stack.url("/api/v1/batches"),
        files={"file": ("passengers.csv", body, "text/csv")},
        data={"id_column": "passenger"},
        headers=keyed(key),
        timeout=30,
    )
    assert first.status_code == 202, first.text
    job_id = first.json()["id"]
    for retry in (again, as_multipart):
        assert retry.status_code == 202, retry.text
        assert retry.json()["id"] == job_id
        assert retry.headers["Location"] == f"/api/v1/jobs/{job_id}"
        assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert counts(idle_stack) == (jobs_before + 1, queued_before + 1)
    assert uploads(idle_stack) - files_before == {f"{job_id}.csv"}


def test_the_same_key_with_a_different_file_or_parameters_is_409_naming_the_header(
    idle_stack: Stack,
) -> None:
    key = str(uuid.uuid4())
    records = rows(10)
    first = upload(idle_stack, to_csv(records), headers=keyed(key))
    assert first.status_code == 202, first.text
    before = counts(idle_stack)
    files_before = uploads(idle_stack)
    records[3]["fare"] = 99.0
    other_file = upload(idle_stack, to_csv(records), headers=keyed(key))
    other_params = upload(idle_stack, to_csv(rows(10)), headers=keyed(key), id_column="passenger")
    for refused in (other_file, other_params):
        assert refused.status_code == 409, refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["errors"] == [
            {
                "loc": ["header", "Idempotency-Key"],
                "msg": "already used with a different file or different parameters",
            }
        ]
    assert counts(idle_stack) == before
    assert uploads(idle_stack) == files_before


def test_concurrent_uploads_with_one_key_make_exactly_one_job_and_keep_one_file(
    idle_stack: Stack,
) -> None:
    key = str(uuid.uuid4())
    body = to_csv(rows(2000))  # large enough that the uploads overlap
    jobs_before, queued_before = counts(idle_stack)
    files_before = uploads(idle_stack)
    answers: list[requests.Response] = []
    start = threading.Barrier(6)

    def send() -> None:
        start.wait()
        answers.append(upload(idle_stack, body, headers=keyed(key)))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [202] * 6, [a.text for a in answers]
    ids = {a.json()["id"] for a in answers}
    assert len(ids) == 1
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    assert counts(idle_stack) == (jobs_before + 1, queued_before + 1)
    assert uploads(idle_stack) - files_before == {f"{ids.pop()}.csv"}


def test_a_retry_after_the_job_has_succeeded_is_200_with_the_finished_job(stack: Stack) -> None:
    key = str(uuid.uuid4())
    body = to_csv(rows(5))
    first = upload(stack, body, headers=keyed(key))
    done = finished(stack, first.json()["id"])
    assert done["status"] == "succeeded"
    again = upload(stack, body, headers=keyed(key))
    assert again.status_code == 200
    assert again.json()["id"] == done["id"]
    assert again.json()["status"] == "succeeded"
    assert again.headers["Location"] == f"/api/v1/jobs/{done['id']}"
