"""An app built in-process (no server) for checks that never reach Redis."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.settings import Settings
from devsupport import free_port
from web.app import create_app


@pytest.fixture(scope="module")
def app(models_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """Redis points at a closed port: these tests are answered before Redis is needed."""
    settings = Settings(
        models_dir=models_dir,
        storage_root=tmp_path_factory.mktemp("storage"),
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
    )
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
