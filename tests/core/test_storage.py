"""Both storage backends through the one interface: the local filesystem and S3 (moto's server).

The S3 cases run against moto's standalone server, a real process speaking S3
over HTTP (the ``s3_server`` fixture).
"""

from __future__ import annotations

import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import StorageUnavailable
from core.storage import Storage, open_storage
from devsupport import LOOPBACK, free_port, s3_env

PART_BYTES = 5 * 1024 * 1024  # S3's smallest part: a 12 MiB object takes three


@pytest.fixture(params=["local", "s3"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Storage]:
    if request.param == "local":
        yield open_storage("", tmp_path, part_bytes=PART_BYTES, concurrency=2)
        return
    server = request.getfixturevalue("s3_server")
    env = server.env(f"unit-{uuid.uuid4().hex}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    yield open_storage(env["LIFEBOAT_STORAGE_URL"], tmp_path, part_bytes=PART_BYTES, concurrency=2)


def big(n: int) -> bytes:
    """``n`` bytes no two 1 KiB blocks of which are alike (a misplaced chunk shows)."""
    return b"".join(f"{i:01023d}\n".encode() for i in range(n // 1024))[:n]


def test_a_streamed_write_reads_back_whole_and_by_ranges(store: Storage) -> None:
    data = big(12 * 1024 * 1024 + 1024)  # a multipart upload of three parts on S3
    with store.writer("results/a.csv") as out:
        for i in range(0, len(data), 1 << 20):
            out.write(data[i : i + (1 << 20)])
    assert store.size("results/a.csv") == len(data)
    assert b"".join(store.stream("results/a.csv")) == data
    with store.open_range("results/a.csv", 5_000_000, 5_000_100) as part:
        assert part.read() == data[5_000_000:5_000_100]
    with store.open("results/a.csv") as f:
        f.seek(len(data) - 10)
        assert f.read() == data[-10:]
        f.seek(3)
        assert f.readline() == data[3 : data.index(b"\n") + 1]


def test_a_write_that_fails_leaves_no_object(store: Storage) -> None:
    def broken_upload() -> None:
        with store.writer("results/b.csv") as out:
            out.write(big(11 * 1024 * 1024))
            raise RuntimeError("the upload broke off")

    with pytest.raises(RuntimeError):
        broken_upload()
    assert not store.exists("results/b.csv")
    assert list(store.list("results/")) == []


def test_a_missing_object_is_file_not_found_and_deleting_it_is_fine(store: Storage) -> None:
    with pytest.raises(FileNotFoundError):
        store.size("uploads/none.csv")
    with pytest.raises(FileNotFoundError):
        store.stream("uploads/none.csv")
    with pytest.raises(FileNotFoundError):
        store.open_range("uploads/none.csv", 0, 10).read()
    store.delete("uploads/none.csv")
    assert store.exists("uploads/none.csv") is False


def test_rename_concat_and_delete_prefix(store: Storage) -> None:
    store.write_bytes("uploads/.incoming-1", b"a,b\n1,2\n")
    store.rename("uploads/.incoming-1", "uploads/job.csv")
    assert store.read_bytes("uploads/job.csv") == b"a,b\n1,2\n"
    assert not store.exists("uploads/.incoming-1")
    store.write_bytes("results/job.parts/part-00000.csv", b"1\n")
    store.write_bytes("results/job.parts/part-00001.csv", b"2\n")
    sources = [f"results/job.parts/part-0000{i}.csv" for i in range(2)]
    store.concat("results/job.csv", b"h\n", sources)
    assert store.read_bytes("results/job.csv") == b"h\n1\n2\n"
    assert store.delete_prefix("results/job.parts/") == 2
    assert sorted(e.key for e in store.list("results/")) == ["results/job.csv"]


def test_a_listing_gives_keys_sizes_and_modification_times(store: Storage) -> None:
    before = time.time() - 5
    store.write_bytes("results/x.csv", b"12345")
    store.write_bytes("results/x.parts/part-00000.csv", b"1")
    store.write_bytes("resultsx/y.csv", b"1")  # same leading characters, another folder
    entries = {e.key: e for e in store.list("results/")}
    assert sorted(entries) == ["results/x.csv", "results/x.parts/part-00000.csv"]
    assert entries["results/x.csv"].size == 5
    assert before <= entries["results/x.csv"].modified <= time.time() + 5
    assert [e.key for e in store.list("results/x.parts/")] == ["results/x.parts/part-00000.csv"]


def test_only_s3_presigns_and_its_url_serves_the_object(store: Storage) -> None:
    store.write_bytes("reports/r.html", b"<html>r</html>")
    url = store.presigned_url("reports/r.html", 60)
    if store.name == "local":
        assert url is None
        return
    assert url is not None
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.read() == b"<html>r</html>"


def test_a_key_cannot_leave_the_local_root(tmp_path: Path) -> None:
    store = open_storage("", tmp_path / "root", part_bytes=PART_BYTES, concurrency=1)
    for key in ("../x", "/etc/passwd", "uploads/../../x", ""):
        with pytest.raises(ValueError, match="not a storage key"):
            store.size(key)


def test_a_storage_url_that_is_not_s3_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="s3://"):
        open_storage("gs://bucket", tmp_path, part_bytes=PART_BYTES, concurrency=1)


def test_a_seekable_reader_reads_in_order_and_after_seeks_alike(store: Storage) -> None:
    data = big(6 * 1024 * 1024 + 7)  # read over several windows, then back and forth
    store.write_bytes("uploads/r.csv", data)
    with store.open("uploads/r.csv") as f:
        assert f.read() == data
        for at, n in ((5, 10), (4_000_000, 3_000_000), (len(data) - 3, 10), (0, 1)):
            f.seek(at)
            assert f.read(n) == data[at : at + n]
        assert f.seek(-4, 2) == len(data) - 4
        assert f.read() == data[-4:]
    with store.open_stream("uploads/r.csv") as f:
        assert f.read() == data


def test_an_object_store_that_does_not_answer_is_storage_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in s3_env(f"http://{LOOPBACK}:{free_port()}", "s3://none/x").items():
        monkeypatch.setenv(name, value)
    store = open_storage("s3://none/x", tmp_path, part_bytes=PART_BYTES)
    with pytest.raises(StorageUnavailable) as raised:
        store.size("uploads/a.csv")
    assert raised.value.status == 503
