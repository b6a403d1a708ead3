"""A stack whose stored files live in S3-compatible storage (moto's server), presigning on.

Uploads stream into the bucket and nothing lands on the processes' disk; the
scored file is downloaded by a redirect to a presigned URL; a report's HTML is
still served by the web, with its sandboxing headers. A store that does not
answer is a 503, nothing queued.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests

from devsupport import LOOPBACK, RedisServer, S3Server, Stack, free_port, make_stack, s3_env
from lifeboat_client import Client
from tests.batches.helpers import counts, finished, rows, to_csv, upload
from tests.web.hostile import report_csv

pytestmark = pytest.mark.integration

ROWS = 300


@pytest.fixture
def s3_stack(
    own_redis: RedisServer, s3_server: S3Server, models_dir: Path, tmp_path: Path
) -> Iterator[tuple[Stack, str]]:
    prefix = f"presign-{tmp_path.name}"
    env = {**s3_server.env(prefix), "LIFEBOAT_STORAGE_PRESIGN": "1"}
    stack = make_stack(own_redis, 0, models_dir, tmp_path / "stack", **env)
    stack.start_worker()
    stack.start_web()
    yield stack, prefix
    stack.stop_all()


def test_a_batch_in_object_storage_is_downloaded_by_presigned_url_and_never_touches_disk(
    s3_stack: tuple[Stack, str], s3_server: S3Server
) -> None:
    stack, prefix = s3_stack
    body = to_csv(rows(ROWS))
    r = upload(stack, body)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert finished(stack, job_id)["status"] == "succeeded"

    assert sorted(s3_server.objects(prefix + "/")) == [
        f"{prefix}/results/{job_id}.csv",
        f"{prefix}/results/{job_id}.parquet",
    ]
    root = Path(stack.env["LIFEBOAT_STORAGE_ROOT"])
    assert not (root / "uploads").exists()
    assert not (root / "results").exists()

    got = stack.http.get(stack.url(f"/api/v1/jobs/{job_id}/result"), allow_redirects=False)
    assert got.status_code == 307
    location = got.headers["Location"]
    assert location.startswith(f"{s3_server.endpoint}/{s3_server.bucket}/{prefix}/results/")
    scored = requests.get(location, timeout=30)  # the object store answers, not the web
    assert scored.status_code == 200
    lines = scored.content.decode().splitlines()
    assert len(lines) == ROWS + 1
    assert lines[0].split(",")[0] == "row"

    got = stack.http.get(
        stack.url(f"/api/v1/jobs/{job_id}/result"), params={"format": "parquet"}, timeout=30
    )  # the session follows the redirect
    assert got.status_code == 200
    assert pq.read_table(io.BytesIO(got.content)).num_rows == ROWS

    with Client(stack.base_url, stack.admin_key) as sdk:  # the SDK follows the redirect
        assert sdk.result(job_id) == scored.content


def test_a_report_in_object_storage_is_served_by_the_web_with_its_sandbox(
    s3_stack: tuple[Stack, str], s3_server: S3Server
) -> None:
    stack, prefix = s3_stack
    r = stack.http.post(
        stack.url("/api/v1/reports"),
        data={"type": "drift"},
        files={"file": ("current.csv", report_csv(), "text/csv")},
        params={"wait": 30},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    job_id = r.json()["id"]
    assert r.json()["status"] == "succeeded"
    # the uploaded CSV went with its job; the HTML stays until it expires
    assert s3_server.objects(prefix + "/") == [f"{prefix}/reports/{job_id}.html"]
    got = stack.http.get(stack.url(f"/api/v1/jobs/{job_id}/report"), allow_redirects=False)
    assert got.status_code == 200
    assert got.headers["Content-Security-Policy"] == "sandbox allow-scripts"
    page = got.content.strip().lower()
    assert page.startswith(b"<!doctype html>")
    assert page.endswith(b"</html>")


def test_an_upload_while_the_object_store_is_down_is_a_503_and_queues_nothing(
    own_redis: RedisServer, models_dir: Path, tmp_path: Path
) -> None:
    env = s3_env(f"http://{LOOPBACK}:{free_port()}", "s3://lifeboat/down")  # nothing listens
    stack = make_stack(own_redis, 0, models_dir, tmp_path / "stack", **env)
    stack.start_web()
    try:
        r = upload(stack, to_csv(rows(10)))
        assert r.status_code == 503, r.text
        assert r.headers["Content-Type"] == "application/problem+json"
        assert "object store" in r.json()["detail"]
        assert counts(stack) == (0, 0)
    finally:
        stack.stop_all()
