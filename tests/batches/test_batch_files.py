"""A batch job's stored files on both backends: removing them, and sweeping those of expired jobs.

The S3 case runs against moto's standalone server (a real process, ``s3_server``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import batch_files
from core.settings import Settings
from core.storage import Storage, layout, storage_of

SECOND_TICK = 1.5  # seconds: S3 keeps modification times to the second


@pytest.fixture(params=["local", "s3"])
def settings(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    if request.param == "local":
        monkeypatch.delenv("LIFEBOAT_STORAGE_URL", raising=False)
        yield Settings(storage_root=tmp_path, storage_url=None)
        return
    env = request.getfixturevalue("s3_server").env(f"files-{uuid.uuid4().hex}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield Settings(storage_root=tmp_path, storage_url=env["LIFEBOAT_STORAGE_URL"])


def keys(store: Storage) -> list[str]:
    return sorted(e.key for folder in ("uploads/", "results/") for e in store.list(folder))


def test_the_sweep_deletes_only_the_files_of_jobs_that_no_longer_exist(
    settings: Settings,
) -> None:
    store = storage_of(settings)
    old = layout.incoming()
    store.write_bytes(old, b"x")
    time.sleep(2 * SECOND_TICK)
    for key in (
        layout.upload("gone"),
        layout.result("gone"),
        layout.part("gone", 0),
        layout.part_summary("gone", 0),
        layout.result("alive"),
        layout.part("alive", 3),
    ):
        store.write_bytes(key, b"x")
    fresh = layout.incoming()
    store.write_bytes(fresh, b"x")
    removed = batch_files.sweep(settings, lambda job_id: job_id == "alive", grace=SECOND_TICK)
    assert removed == 4  # the old upload, gone's upload, result and folder of parts
    assert keys(store) == sorted([layout.result("alive"), layout.part("alive", 3), fresh])


def test_removing_a_job_s_files_leaves_other_jobs_alone(settings: Settings) -> None:
    store = storage_of(settings)
    for job_id in ("a", "b"):
        store.write_bytes(layout.upload(job_id), b"x")
        store.write_bytes(layout.part(job_id, 0), b"x")
        store.write_bytes(layout.result(job_id), b"x")
        store.write_bytes(layout.result(job_id, "parquet"), b"x")
    batch_files.remove_partial(settings, "a")
    b_files = [layout.upload("b"), layout.part("b", 0), layout.result("b")]
    b_files.append(layout.result("b", "parquet"))
    assert keys(store) == sorted([layout.result("a"), layout.result("a", "parquet"), *b_files])
    batch_files.remove_all(settings, "a")
    assert keys(store) == sorted(b_files)
