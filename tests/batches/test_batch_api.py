"""Batch jobs against a real web and real workers: upload, score, download, refuse, cancel."""

from __future__ import annotations

import os
import signal

import numpy as np
import pandas as pd
import psutil
import pytest

from devsupport import Stack, wait_until
from tests.batches.helpers import (
    FEATURES,
    counts,
    finished,
    job,
    result,
    rows,
    storage_files,
    to_csv,
    upload,
    uploads,
)
from tests.logged import logged_records

pytestmark = pytest.mark.integration

SMALL_PARTS = {  # many parts and chunks from a small file
    "LIFEBOAT_BATCH_PART_BYTES": "4096",
    "LIFEBOAT_BATCH_CHUNK_BYTES": "1024",
}


def direct_scores(stack: Stack, records: list[dict]) -> np.ndarray:
    from ml.registry import Registry

    model = Registry(stack.env["LIFEBOAT_MODELS_DIR"]).load("test-v1")
    frame = pd.DataFrame(records)[list(FEATURES)]
    frame["age"] = pd.to_numeric(frame["age"], errors="coerce")
    return model.pipeline.predict_proba(frame)


def test_a_batch_split_across_workers_equals_direct_scoring_in_input_order(
    fresh_stack: Stack,
) -> None:
    fresh_stack.env.update(SMALL_PARTS)
    fresh_stack.start_worker(concurrency=2)
    fresh_stack.start_web()
    records = rows(600)
    resp = fresh_stack.http.post(
        fresh_stack.url("/api/v1/batches"),
        files={"file": ("passengers.csv", to_csv(records), "text/csv")},
        data={"id_column": "passenger"},
        timeout=30,
    )
    assert resp.status_code == 202, resp.text
    assert resp.headers["Location"] == f"/api/v1/jobs/{resp.json()['id']}"
    done = finished(fresh_stack, resp.json()["id"])
    assert done["status"] == "succeeded"
    assert done["progress"] == {"done": 600, "total": 600}
    assert done["result"]["rows"] == 600
    assert done["result"]["failed_rows"] == 0
    out = result(fresh_stack, done["id"])
    assert list(out[0]) == [
        "passenger", "note", "prediction", "proba_died", "proba_survived", "error"
    ]  # fmt: skip
    assert [r["passenger"] for r in out] == [r["passenger"] for r in records]
    assert [r["note"] for r in out] == [r["note"] for r in records]
    expected = direct_scores(fresh_stack, records)
    got = np.array([[float(r["proba_died"]), float(r["proba_survived"])] for r in out])
    np.testing.assert_array_equal(got, expected)
    labels = np.array(["died", "survived"])[expected.argmax(axis=1)]
    assert [r["prediction"] for r in out] == labels.tolist()
    log = fresh_stack.procs["worker"].output()
    assert log.count("lifeboat.score_batch_part") > 4  # it really was split
    assert storage_files(fresh_stack, done["id"]) == [
        f"results/{done['id']}.csv",
        f"results/{done['id']}.parquet",
    ]


def test_a_batch_job_shows_its_input_file_but_not_where_it_is_stored(stack: Stack) -> None:
    body = to_csv(rows(20))
    resp = stack.http.post(
        stack.url("/api/v1/batches"),
        files={"file": ("passengers.csv", body, "text/csv")},
        data={"id_column": "passenger"},
        timeout=30,
    )
    assert resp.status_code == 202, resp.text
    job = stack.http.get(stack.url(f"/api/v1/jobs/{resp.json()['id']}"), timeout=10).json()
    assert job["input"] == {
        "filename": "passengers.csv",
        "format": "csv",
        "bytes": len(body),
        "id_column": "passenger",
    }
    listed = stack.http.get(stack.url("/api/v1/jobs?type=batch&limit=1"), timeout=10).json()
    assert "input" not in listed["jobs"][0]  # a listing reads no job's inputs


def test_without_an_id_column_the_output_is_keyed_by_line_number(stack: Stack) -> None:
    records = rows(5)
    resp = upload(stack, to_csv(records))
    out = result(stack, finished(stack, resp.json()["id"])["id"])
    assert [r["row"] for r in out] == ["1", "2", "3", "4", "5"]
    assert [r["passenger"] for r in out] == ["p0", "p1", "p2", "p3", "p4"]


def test_bad_rows_are_flagged_in_the_output_without_failing_the_job(stack: Stack) -> None:
    records = rows(6)
    records[1]["age"] = "-5"
    records[3]["sex"] = "alien"
    records[4]["pclass"] = "first"
    body = to_csv(records) + b"p6,1,female\n"  # a line with too few fields
    resp = upload(stack, body, id_column="passenger")
    done = finished(stack, resp.json()["id"])
    assert done["status"] == "succeeded"
    assert done["result"]["rows"] == 7
    assert done["result"]["failed_rows"] == 4
    out = {r["passenger"]: r for r in result(stack, done["id"])}
    assert list(out) == ["p0", "p1", "p2", "p3", "p4", "p5", "p6"]
    assert out["p1"]["error"] == "age: must be between 0 and 160"
    assert out["p3"]["error"] == "sex: must be one of: 'female', 'male'"
    assert out["p4"]["error"] == "pclass: must be a number"
    assert out["p6"]["error"] == "the line has 3 field(s), the header 9"
    assert all(out[k]["prediction"] == "" for k in ("p1", "p3", "p4", "p6"))
    assert all(out[k]["error"] == "" and out[k]["prediction"] for k in ("p0", "p2", "p5"))


def test_a_file_whose_rows_are_all_bad_fails_the_job_with_a_clear_error(stack: Stack) -> None:
    records = rows(4)
    for r in records:
        r["sex"] = "unknown"
    done = finished(stack, upload(stack, to_csv(records)).json()["id"])
    assert done["status"] == "failed"
    assert done["error"]["type"] == "NoValidRows"
    assert done["error"]["detail"].startswith("every row of the file failed validation (4 row(s))")
    assert storage_files(stack, done["id"]) == []


def test_a_file_missing_feature_columns_is_422_naming_them_and_queues_nothing(
    idle_stack: Stack,
) -> None:
    before = counts(idle_stack)
    columns = ["passenger", "pclass", "sex", "sibsp", "parch", "embarked"]
    resp = upload(idle_stack, to_csv(rows(3), columns))
    assert resp.status_code == 422
    assert resp.headers["Content-Type"] == "application/problem+json"
    problem = resp.json()
    assert problem["detail"] == "the file lacks required column(s): age, fare"
    assert [e["loc"] for e in problem["errors"]] == [
        ["file", "columns", "age"],
        ["file", "columns", "fare"],
    ]
    assert counts(idle_stack) == before
    assert uploads(idle_stack) == set()


def test_an_unknown_id_column_is_422_and_queues_nothing(idle_stack: Stack) -> None:
    before = counts(idle_stack)
    resp = upload(idle_stack, to_csv(rows(3)), id_column="ticket")
    assert resp.status_code == 422
    errors = resp.json()["errors"]
    assert errors == [{"loc": ["id_column"], "msg": "no column 'ticket' in the file"}]
    assert counts(idle_stack) == before


def test_a_body_that_is_not_csv_is_415(idle_stack: Stack) -> None:
    resp = idle_stack.http.post(idle_stack.url("/api/v1/batches"), json={"rows": []}, timeout=10)
    assert resp.status_code == 415


def test_the_result_is_409_until_the_job_has_succeeded(idle_stack: Stack) -> None:
    resp = upload(idle_stack, to_csv(rows(3)))
    assert resp.status_code == 202
    queued = resp.json()
    assert queued["status"] == "queued"
    assert queued["progress"]["total"] == 3  # estimated from the file's size
    got = idle_stack.http.get(idle_stack.url(f"/api/v1/jobs/{queued['id']}/result"), timeout=10)
    assert got.status_code == 409
    assert got.headers["Content-Type"] == "application/problem+json"
    assert got.json()["detail"] == "the result is not ready: the job is queued"


def test_an_upload_over_the_limit_is_413_and_leaves_no_job(fresh_stack: Stack) -> None:
    fresh_stack.env["LIFEBOAT_MAX_UPLOAD_BYTES"] = "2048"
    fresh_stack.start_web()
    body = to_csv(rows(200))
    assert len(body) > 2048
    declared = upload(fresh_stack, body)
    # no Content-Length: chunked, so the limit is met while reading
    streamed = fresh_stack.http.post(
        fresh_stack.url("/api/v1/batches"),
        data=iter([body[i : i + 1000] for i in range(0, len(body), 1000)]),
        headers={"Content-Type": "text/csv"},
        timeout=30,
    )
    assert (declared.status_code, streamed.status_code) == (413, 413)
    assert streamed.json()["detail"] == "the upload is larger than 2048 bytes"
    assert counts(fresh_stack) == (0, 0)
    assert uploads(fresh_stack) == set()


def test_cancelling_a_running_batch_stops_it_and_removes_its_files(fresh_stack: Stack) -> None:
    fresh_stack.env.update(SMALL_PARTS)
    worker = fresh_stack.start_worker(
        concurrency=1, extra_env={"LIFEBOAT_BATCH_FAULT_DELAY_SECONDS": "0.3"}
    )
    fresh_stack.start_web()
    job_id = upload(fresh_stack, to_csv(rows(2000))).json()["id"]
    wait_until(lambda: job(fresh_stack, job_id)["progress"]["done"] > 0, 60, "scoring to start")
    cancelled = fresh_stack.http.delete(fresh_stack.url(f"/api/v1/jobs/{job_id}"), timeout=10)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    wait_until(lambda: "'stopped'" in worker.output(), 30, "the running part to stop")
    assert storage_files(fresh_stack, job_id) == []
    final = job(fresh_stack, job_id)
    assert final["status"] == "cancelled"
    assert final["progress"]["done"] < 2000
    got = fresh_stack.http.get(fresh_stack.url(f"/api/v1/jobs/{job_id}/result"), timeout=10)
    assert got.status_code == 409


def test_a_worker_killed_mid_batch_still_writes_every_row_exactly_once(fresh_stack: Stack) -> None:
    fresh_stack.env.update(SMALL_PARTS, LIFEBOAT_BATCH_LOG_ROWS="10")
    worker = fresh_stack.start_worker(
        concurrency=2, extra_env={"LIFEBOAT_BATCH_FAULT_DELAY_SECONDS": "0.1"}
    )
    fresh_stack.start_web()
    records = rows(1500)
    job_id = upload(fresh_stack, to_csv(records), id_column="passenger").json()["id"]
    wait_until(lambda: job(fresh_stack, job_id)["progress"]["done"] > 100, 60, "scoring underway")
    before = job(fresh_stack, job_id)
    killed = psutil.Process(worker.popen.pid).children()
    for child in killed:
        os.kill(child.pid, signal.SIGKILL)
    done = finished(fresh_stack, job_id)
    assert done["status"] == "succeeded"
    assert len(killed) == 2
    assert before["status"] == "running"
    assert before["progress"]["done"] < 1500
    out = result(fresh_stack, job_id)
    assert [r["passenger"] for r in out] == [r["passenger"] for r in records]
    assert done["result"]["rows"] == 1500
    assert done["progress"] == {"done": 1500, "total": 1500}
    # an even sample of the rows reached the prediction log, each row once
    entries = logged_records(fresh_stack.redis)
    logged = [e for r in entries for e in r.entries()]
    assert [e.prediction_id for e in logged] == [f"{job_id}-{n}" for n in range(150, 1501, 150)]
    assert [r.source for r in entries] == ["batch"]  # one log entry for the job's sample
    by_id = {r["passenger"]: r for r in out}
    for entry in logged:
        row = int(entry.prediction_id.rsplit("-", 1)[1])
        assert entry.features["sex"] == records[row - 1]["sex"]
        scored = by_id[records[row - 1]["passenger"]]
        assert entry.prediction == scored["prediction"]
        assert entry.probabilities["survived"] == float(scored["proba_survived"])
