"""Fixtures shared by every test package: a private Redis, a trained model, running stacks.

Chain: ``redis_server`` → ``models_dir`` → ``stack`` (web + worker). Integration
tests talk to real processes over real connections; nothing is mocked.

``pytest --storage=s3`` runs the tests against S3-compatible storage: a moto
server started for the session, its bucket named by ``LIFEBOAT_STORAGE_URL`` in
this process's environment, which every stack inherits (each under its own
prefix) and every ``Settings()`` reads.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery

from core.queue import make_celery
from core.settings import Settings
from devsupport import RedisServer, S3Server, Stack, make_stack, start_redis, start_s3
from devsupport.redis_server import DATABASES

_dbs = itertools.count(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--storage",
        choices=("local", "s3"),
        default="local",
        help="where stacks and Settings() keep stored files: the local filesystem, or a "
        "bucket on an S3-compatible server started for the session (moto)",
    )


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's standalone S3 server on a free port, with a bucket; stopped at the end."""
    try:
        server = start_s3(tmp_path_factory.mktemp("s3"))
    except (OSError, TimeoutError, RuntimeError):
        if os.environ.get("CI"):
            raise
        pytest.skip("no S3-compatible server could be started (is moto[server] installed?)")
    yield server
    server.proc.stop()


@pytest.fixture(scope="session", autouse=True)
def storage_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """With ``--storage=s3``, point this session's stored files at the S3 server."""
    backend = request.config.getoption("--storage")
    if backend != "s3":
        yield backend
        return
    server = request.getfixturevalue("s3_server")
    mp = pytest.MonkeyPatch()
    for name, value in server.env().items():
        mp.setenv(name, value)
    yield backend
    mp.undo()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A redis-server of our own on a free port (never the shared one on 6379)."""
    try:
        server = start_redis(tmp_path_factory.mktemp("redis"))
    except (OSError, TimeoutError, RuntimeError):
        if os.environ.get("CI"):
            raise
        pytest.skip("no redis-server could be started")
    yield server
    server.proc.stop()


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model version trained once for the session."""
    from ml.data.spec import TITANIC
    from ml.train import train

    root = tmp_path_factory.mktemp("models")
    train(TITANIC, None, root, seed=42, version="test-v1", set_default=True)
    return root


def new_db() -> int:
    db = next(_dbs)
    assert db < DATABASES, "more stacks than Redis databases"
    return db


@pytest.fixture(scope="session")
def stack(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Web + worker on their own Redis db, shared by the tests that only submit and read."""
    s = make_stack(redis_server, new_db(), models_dir, tmp_path_factory.mktemp("stack"))
    s.start_worker()
    s.start_web()
    yield s
    s.stop_all()


@pytest.fixture(scope="session")
def idle_stack(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A web with no worker: whatever is queued stays in the queue, where tests can count it."""
    s = make_stack(redis_server, new_db(), models_dir, tmp_path_factory.mktemp("idle"))
    s.start_web()
    yield s
    s.stop_all()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server for this test alone (it may be stopped by the test)."""
    server = start_redis(tmp_path / "redis")
    yield server
    server.proc.stop()


@pytest.fixture
def own_client(own_redis: RedisServer) -> redis.Redis:
    """A client of :func:`own_redis`."""
    return own_redis.client()


@pytest.fixture
def own_celery(own_redis: RedisServer) -> Iterator[Celery]:
    """Lifeboat's Celery app with :func:`own_redis` as its broker."""
    app = make_celery(Settings(redis_url=own_redis.url))
    yield app
    app.close()


@pytest.fixture
def fresh_stack(own_redis: RedisServer, models_dir: Path, tmp_path: Path) -> Iterator[Stack]:
    """A stack on its own Redis with nothing started: the test starts what it needs."""
    s = make_stack(own_redis, 0, models_dir, tmp_path)
    yield s
    s.stop_all()
