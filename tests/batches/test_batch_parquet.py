"""Parquet in and out of batch jobs, against a real web and real workers."""

from __future__ import annotations

import io
import math

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from devsupport import Stack
from tests.batches.helpers import (
    PARQUET_TYPE,
    counts,
    finished,
    result,
    rows,
    to_csv,
    to_parquet,
    upload,
    uploads,
)

pytestmark = pytest.mark.integration


SMALL_PARTS = {"LIFEBOAT_BATCH_PART_BYTES": "4096", "LIFEBOAT_BATCH_CHUNK_BYTES": "1024"}


def parquet_result(stack: Stack, job_id: str, **kwargs: object) -> pa.Table:
    resp = stack.http.get(stack.url(f"/api/v1/jobs/{job_id}/result"), timeout=30, **kwargs)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"] == PARQUET_TYPE
    return pq.read_table(io.BytesIO(resp.content))


def test_a_parquet_upload_split_by_row_groups_scores_exactly_like_the_same_rows_as_csv(
    fresh_stack: Stack,
) -> None:
    fresh_stack.env.update(SMALL_PARTS)
    fresh_stack.start_worker(concurrency=2)
    fresh_stack.start_web()
    records = rows(600)
    records[7]["sex"] = "alien"  # a bad row is flagged in the same way
    sent = upload(
        fresh_stack,
        to_parquet(records, row_group_size=50),
        content_type=PARQUET_TYPE,
        id_column="passenger",
    )
    assert sent.status_code == 202, sent.text
    assert sent.json()["progress"]["total"] == 600  # exact: the footer's row count
    as_csv = upload(fresh_stack, to_csv(records), id_column="passenger")
    done = finished(fresh_stack, sent.json()["id"])
    assert done["status"] == "succeeded", done
    assert done["progress"] == {"done": 600, "total": 600}
    assert done["result"]["failed_rows"] == 1
    expected = result(fresh_stack, finished(fresh_stack, as_csv.json()["id"])["id"])
    got = result(fresh_stack, done["id"])
    assert got == expected
    assert got[7]["error"] == "sex: must be one of: 'female', 'male'"
    worker_log = fresh_stack.procs["worker"].output()
    assert worker_log.count("lifeboat.score_batch_part") > 4  # parts of whole row groups


def test_a_parquet_file_without_an_id_column_is_keyed_by_row_number(stack: Stack) -> None:
    sent = stack.http.post(  # multipart; the name says Parquet, the part's type does not
        stack.url("/api/v1/batches"),
        files={"file": ("passengers.parquet", to_parquet(rows(5)), "application/octet-stream")},
        timeout=30,
    )
    assert sent.status_code == 202, sent.text
    out = result(stack, finished(stack, sent.json()["id"])["id"])
    assert [r["row"] for r in out] == ["1", "2", "3", "4", "5"]
    assert [r["passenger"] for r in out] == ["p0", "p1", "p2", "p3", "p4"]


def test_a_parquet_file_missing_a_feature_column_is_422_naming_it_and_queues_nothing(
    idle_stack: Stack,
) -> None:
    before = counts(idle_stack), uploads(idle_stack)
    records = [{k: v for k, v in r.items() if k != "age"} for r in rows(3)]
    resp = idle_stack.http.post(
        idle_stack.url("/api/v1/batches"),
        files={"file": ("passengers.parquet", to_parquet(records), PARQUET_TYPE)},
        timeout=30,
    )
    assert resp.status_code == 422
    problem = resp.json()
    assert problem["detail"] == "the file lacks required column(s): age"
    assert problem["errors"] == [
        {"loc": ["file", "columns", "age"], "msg": "required column missing"}
    ]
    assert (counts(idle_stack), uploads(idle_stack)) == before


def test_a_body_sent_as_parquet_that_is_not_parquet_is_422_and_queues_nothing(
    idle_stack: Stack,
) -> None:
    before = counts(idle_stack), uploads(idle_stack)
    resp = upload(idle_stack, to_csv(rows(3)), content_type="application/x-parquet")
    assert resp.status_code == 422
    assert resp.json()["detail"] == "the file is not a Parquet file"
    assert resp.json()["errors"] == [
        {"loc": ["file"], "msg": "the file does not start with the Parquet magic bytes"}
    ]
    assert (counts(idle_stack), uploads(idle_stack)) == before


def test_the_result_as_parquet_holds_what_the_csv_result_holds(stack: Stack) -> None:
    records = rows(30)
    records[2]["note"] = ""  # an empty text stays an empty text, not a null
    records[3]["note"] = "NA"
    records[5]["age"] = "-5"  # a bad row: no prediction, an error
    done = finished(stack, upload(stack, to_csv(records), id_column="passenger").json()["id"])
    assert done["status"] == "succeeded"
    assert done["result"]["links"]["result_parquet"].endswith("?format=parquet")
    csv_rows = result(stack, done["id"])
    by_query = parquet_result(stack, done["id"], params={"format": "parquet"})
    by_accept = parquet_result(stack, done["id"], headers={"Accept": PARQUET_TYPE})
    assert by_accept.equals(by_query)
    assert by_query.column_names == list(csv_rows[0])
    assert by_query.schema.field("proba_died").type == pa.float64()
    parquet_rows = by_query.to_pylist()
    assert len(parquet_rows) == len(csv_rows) == 30
    for got, want in zip(parquet_rows, csv_rows, strict=True):
        for name, value in want.items():
            if name.startswith("proba_"):
                assert got[name] == (float(value) if value else None)
            elif name in ("prediction", "error"):
                assert got[name] == (value or None)
            else:
                assert got[name] == value
    assert parquet_rows[2]["note"] == ""
    assert parquet_rows[3]["note"] == "NA"
    assert parquet_rows[5]["error"] == "age: must be between 0 and 160"
    assert math.isclose(parquet_rows[0]["proba_died"] + parquet_rows[0]["proba_survived"], 1.0)


def test_the_result_is_csv_unless_parquet_is_asked_for(stack: Stack) -> None:
    done = finished(stack, upload(stack, to_csv(rows(3))).json()["id"])
    url = stack.url(f"/api/v1/jobs/{done['id']}/result")
    for headers in ({}, {"Accept": "*/*"}, {"Accept": "text/csv, */*;q=0.1"}):
        resp = stack.http.get(url, headers=headers, timeout=10)
        assert resp.headers["Content-Type"].startswith("text/csv"), headers
    bad = stack.http.get(url, params={"format": "xlsx"}, timeout=10)
    assert bad.status_code == 422
    assert bad.json()["errors"] == [
        {"loc": ["query", "format"], "msg": "must be one of csv, parquet"}
    ]
