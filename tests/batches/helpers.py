"""What the batch tests share: building CSV files, uploading them, reading results."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import requests

from core.defaults import DEFAULT_STORAGE_PART_BYTES
from core.keys import Keys
from core.storage import Storage, open_storage
from devsupport import Stack, wait_until
from tests.payloads import passengers

FEATURES = ("pclass", "sex", "age", "sibsp", "parch", "fare", "embarked")


def rows(n: int) -> list[dict[str, Any]]:
    """``n`` distinct passengers, keyed by a ``passenger`` column, plus a carried-through note."""
    out = []
    for i, p in enumerate(passengers(n)):
        row = {"passenger": f"p{i}", **{k: p[k] for k in FEATURES}, "note": f"n,{i}"}
        row["age"] = float(1 + i % 79) if i % 7 else ""  # some ages missing
        out.append(row)
    return out


def to_csv(records: list[dict[str, Any]], columns: list[str] | None = None) -> bytes:
    columns = columns or list(records[0])
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    w.writerows(records)
    return buf.getvalue().encode()


PARQUET_TYPE = "application/vnd.apache.parquet"


def to_parquet(records: list[dict[str, Any]], *, row_group_size: int = 1 << 20) -> bytes:
    """The records as Parquet with typed columns: numbers as numbers, a missing age as null."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {name: [r[name] for r in records] for name in records[0]}
    if "age" in columns:
        columns["age"] = [None if a == "" else a for a in columns["age"]]
    buf = io.BytesIO()
    pq.write_table(pa.table(columns), buf, row_group_size=row_group_size)
    return buf.getvalue()


def upload(
    stack: Stack,
    body: bytes,
    *,
    content_type: str = "text/csv",
    headers: dict[str, str] | None = None,
    **params: str,
) -> requests.Response:
    return stack.http.post(
        stack.url("/api/v1/batches"),
        data=body,
        params=params,
        headers={"Content-Type": content_type, **(headers or {})},
        timeout=30,
    )


def job(stack: Stack, job_id: str, wait: float = 0) -> dict[str, Any]:
    return stack.http.get(
        stack.url(f"/api/v1/jobs/{job_id}"), params={"wait": wait}, timeout=wait + 10
    ).json()


def finished(stack: Stack, job_id: str, timeout: float = 120) -> dict[str, Any]:
    """The job once terminal (long-polled)."""
    got: dict[str, Any] = {}

    def done() -> bool:
        got.update(job(stack, job_id, wait=5))
        return got["status"] in ("succeeded", "failed", "cancelled")

    wait_until(done, timeout, f"batch job {job_id} to finish")
    return got


def result(stack: Stack, job_id: str) -> list[dict[str, str]]:
    resp = stack.http.get(stack.url(f"/api/v1/jobs/{job_id}/result"), timeout=30)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(resp.text)))


def stack_storage(stack: Stack) -> Storage:
    """The store the stack's processes use (its folder, or its bucket and prefix)."""
    url = stack.env.get("LIFEBOAT_STORAGE_URL") or ""
    root = Path(stack.env["LIFEBOAT_STORAGE_ROOT"])
    return open_storage(url, root, part_bytes=DEFAULT_STORAGE_PART_BYTES)


def uploads(stack: Stack) -> set[str]:
    """Names of the files in the stack's uploads folder."""
    return {e.key.removeprefix("uploads/") for e in stack_storage(stack).list("uploads/")}


def storage_files(stack: Stack, job_id: str) -> list[str]:
    """Keys of the stored files of a job (upload, parts, results), sorted."""
    store = stack_storage(stack)
    found = [e.key for d in ("uploads/", "results/") for e in store.list(f"{d}{job_id}")]
    return sorted(found)


def counts(stack: Stack) -> tuple[int, int]:
    """(jobs in the job index, messages on the batches queue)."""
    return stack.redis.zcard(Keys().recent_jobs), stack.redis.llen("batches")
