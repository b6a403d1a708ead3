"""Registering a model version while a stack serves from a model store: real gunicorn, a
Celery worker, Redis and an S3-compatible server (moto), the web and the worker each with
its own cache of the store (as on separate hosts), and an empty models folder.

A version registered with ``python -m core.model_store register`` serves a prediction
pinned to it without any process restarting; a tampered version is refused by the command,
and one slipped into the store behind its back is never served."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from core.model_store import MISS_RELIST_SECONDS
from devsupport import PY, ROOT, RedisServer, S3Server, Stack, make_stack
from tests.conftest import new_db
from tests.payloads import PASSENGER
from tests.traffic.conftest import V1, V2

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def store_stack(
    redis_server: RedisServer,
    s3_server: S3Server,
    models_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    """A stack whose model store (a bucket prefix) holds V1 alone, registered before it
    starts; its models folder is empty and the web and the worker each have their own cache."""
    root = tmp_path_factory.mktemp("registration")
    (root / "no-models").mkdir()
    s = make_stack(
        redis_server,
        new_db(),
        root / "no-models",
        root,
        **s3_server.env(f"registration-{uuid.uuid4().hex[:8]}"),
        LIFEBOAT_MODEL_CACHE_DIR=str(root / "web-cache"),
    )
    seeded = register(s, models_dir / V1, "--default")
    assert seeded.returncode == 0, seeded.stderr
    s.start_worker(extra_env={"LIFEBOAT_MODEL_CACHE_DIR": str(root / "worker-cache")})
    s.start_web()
    yield s
    s.stop_all()


def register(stack: Stack, folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "-m", "core.model_store", "register", str(folder), *options],
        cwd=ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def predict(stack: Stack, version: str) -> tuple[int, dict]:
    """A prediction pinned to ``version``, waited for: the HTTP status and the answer."""
    r = stack.http.post(
        stack.url("/api/v1/predictions"),
        json={"instances": [PASSENGER], "model_version": version},
        params={"wait": 20},
        timeout=40,
    )
    return r.status_code, r.json()


def installed(stack: Stack) -> list[str]:
    r = stack.http.get(stack.url("/api/v1/models"), timeout=10)
    assert r.status_code == 200, r.text
    return [m["version"] for m in r.json()["models"]]


def pids(stack: Stack) -> dict[str, int]:
    """The pid of each process the stack started, all still running."""
    assert all(p.alive() for p in stack.procs.values())
    return {name: p.popen.pid for name, p in stack.procs.items()}


def test_a_version_registered_while_the_stack_runs_serves_predictions_pinned_to_it(
    store_stack: Stack, two_versions: Path
) -> None:
    before = pids(store_stack)
    assert installed(store_stack) == [V1]
    assert predict(store_stack, V2)[0] == 422  # not registered yet

    done = register(store_stack, two_versions / V2)
    assert done.returncode == 0, done.stderr
    time.sleep(MISS_RELIST_SECONDS)  # a web process lists the store again at most this often

    status, job = predict(store_stack, V2)
    assert status == 200, job
    assert (status, job["status"], job["model_version"], job["routing"]) == (
        200,
        "succeeded",
        V2,
        "pinned",
    )
    assert job["result"]["predictions"][0]["prediction"] in {"died", "survived"}
    assert pids(store_stack) == before  # no process restarted
    assert f"model version {V2} downloaded" in store_stack.procs["worker"].output()
    assert V2 in installed(store_stack)


def tampered_copy(source: Path, tmp_path: Path, version: str) -> Path:
    """A copy of a version renamed ``version``, its lean scorer's bytes damaged."""
    folder = tmp_path / version
    shutil.copytree(source, folder)
    card = json.loads((folder / "model_card.json").read_text())
    (folder / "model_card.json").write_text(json.dumps({**card, "version": version}))
    lean = bytearray((folder / "lean.npz").read_bytes())
    lean[len(lean) // 2] ^= 0xFF
    (folder / "lean.npz").write_bytes(bytes(lean))
    return folder


def test_registering_a_tampered_version_is_refused_and_it_serves_nothing(
    store_stack: Stack, two_versions: Path, tmp_path: Path
) -> None:
    folder = tampered_copy(two_versions / V2, tmp_path, "test-forged")
    done = register(store_stack, folder)
    assert done.returncode == 2
    assert "lean.npz does not match its sha256 in the model card" in done.stderr
    time.sleep(MISS_RELIST_SECONDS)
    status, refused = predict(store_stack, "test-forged")
    assert status == 422
    assert refused["errors"][0]["loc"] == ["model_version"]


def test_a_version_tampered_in_the_store_itself_is_never_served(
    store_stack: Stack, s3_server: S3Server, two_versions: Path, tmp_path: Path
) -> None:
    folder = tampered_copy(two_versions / V2, tmp_path, "test-slipped-in")
    prefix = store_stack.env["LIFEBOAT_STORAGE_URL"].removeprefix(f"s3://{s3_server.bucket}/")
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        region_name=store_stack.env["AWS_REGION"],
        aws_access_key_id=store_stack.env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=store_stack.env["AWS_SECRET_ACCESS_KEY"],
    )
    for path in folder.iterdir():  # straight into the bucket, past the command's checks
        key = f"{prefix}/models/test-slipped-in/{path.name}"
        client.put_object(Bucket=s3_server.bucket, Key=key, Body=path.read_bytes())
    time.sleep(MISS_RELIST_SECONDS)
    status, refused = predict(store_stack, "test-slipped-in")
    assert status == 422
    assert "no installed model version 'test-slipped-in'" in refused["errors"][0]["msg"]
    assert "test-slipped-in" not in installed(store_stack)
    assert predict(store_stack, V1)[0] == 200
