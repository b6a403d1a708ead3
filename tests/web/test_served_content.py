"""What the API serves is safe to open: headers, reports built from hostile data, scored CSVs."""

from __future__ import annotations

import csv
import io
from typing import Any

import pyarrow.parquet as pq
import pytest

from devsupport import Stack
from tests.batches.helpers import finished, upload
from tests.payloads import PASSENGER
from tests.web.hostile import HOSTILE_ROWS, MARK, PAYLOAD, report_csv

pytestmark = pytest.mark.integration


def hostile_report(stack: Stack) -> dict[str, Any]:
    r = stack.http.post(
        stack.url("/api/v1/reports"),
        data={"type": "drift"},
        files={"file": ("current.csv", report_csv(), "text/csv")},
        params={"wait": 30},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["status"] == "succeeded", job
    return job


def test_every_response_says_nosniff(stack: Stack) -> None:
    for path in ("/health", "/openapi.json", "/api/v1/jobs/nope", "/no-such-route"):
        r = stack.http.get(stack.url(path), timeout=5)
        assert r.headers["X-Content-Type-Options"] == "nosniff", path


def test_a_job_is_served_no_store(stack: Stack) -> None:
    r = stack.http.post(
        stack.url("/api/v1/predictions"), json={"instances": [PASSENGER]}, timeout=10
    )
    got = stack.http.get(stack.url(r.headers["Location"]), params={"wait": 5}, timeout=10)
    assert got.json()["status"] == "succeeded"
    assert got.headers["Cache-Control"] == "no-store"
    assert stack.http.get(stack.url("/api/v1/jobs"), timeout=5).headers["Cache-Control"] == (
        "no-store"
    )


def test_a_report_from_hostile_data_is_sandboxed_and_holds_none_of_its_text(stack: Stack) -> None:
    job = hostile_report(stack)
    assert job["result"]["summary"]["unknown_categories"] == {"sex": 0, "embarked": HOSTILE_ROWS}
    r = stack.http.get(stack.url(f"/api/v1/jobs/{job['id']}/report"), timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert r.headers["Content-Security-Policy"] == "sandbox allow-scripts"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Cache-Control"] == "no-store"
    assert PAYLOAD not in r.text
    assert MARK not in r.text  # neither raw nor escaped in any way
    assert "(unknown)" in r.text


FORMULAS = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "'=already"]


def test_a_scored_csv_writes_formulas_as_text_and_the_parquet_keeps_them_raw(
    stack: Stack,
) -> None:
    columns = ["passenger", "pclass", "sex", "age", "sibsp", "parch", "fare", "embarked", "=note"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    notes = [*FORMULAS, "-1.5", "plain"]
    for i, note in enumerate(notes):
        p = {**PASSENGER, "passenger": note if i < len(FORMULAS) else f"p{i}", "=note": note}
        writer.writerow([p[c] for c in columns])
    r = upload(stack, buf.getvalue().encode(), id_column="passenger")
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert finished(stack, job_id)["status"] == "succeeded"

    scored = stack.http.get(stack.url(f"/api/v1/jobs/{job_id}/result"), timeout=30)
    lines = list(csv.reader(io.StringIO(scored.text)))
    assert lines[0][:2] == ["passenger", "'=note"]
    escaped = ["'" + f for f in FORMULAS]
    assert [line[1] for line in lines[1:]] == [*escaped, "-1.5", "plain"]
    assert [line[0] for line in lines[1 : len(FORMULAS) + 1]] == escaped

    raw = stack.http.get(
        stack.url(f"/api/v1/jobs/{job_id}/result"), params={"format": "parquet"}, timeout=30
    )
    table = pq.read_table(io.BytesIO(raw.content))
    assert table.column_names[:2] == ["passenger", "=note"]
    assert table.column("=note").to_pylist() == notes
    assert raw.headers["Cache-Control"] == "no-store"
