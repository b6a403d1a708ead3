"""An app built in-process (no server), on a Redis of its own, and a client with an admin key.

Every ``/api/v1`` request is authenticated (one Redis read); what these tests check is
answered before the job store is used.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core import stores
from core.settings import Settings
from devsupport import RedisServer
from tests.conftest import new_db
from web.app import create_app


@pytest.fixture(scope="module")
def settings(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    return Settings(
        models_dir=models_dir,
        storage_root=tmp_path_factory.mktemp("storage"),
        redis_url=f"{redis_server.url}/{new_db()}",
    )


@pytest.fixture(scope="module")
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture(scope="module")
def admin_token(app: Flask, settings: Settings) -> str:
    store = stores.api_keys(settings, app.extensions["lifeboat"].store.redis)
    _, token = store.create(name="test admin", tenant="ops", scopes=frozenset({"admin"}))
    return token


@pytest.fixture
def client(app: Flask, admin_token: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {admin_token}"
    return client
