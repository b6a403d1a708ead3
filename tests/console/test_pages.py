"""The console's pages as the web serves them: public shells, strict CSP, vendored files pinned."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.settings import Settings
from devsupport import RedisServer
from web import console
from web.app import create_app
from web.headers import CONSOLE_POLICY, REPORT_POLICY

ROOT = Path(__file__).resolve().parents[2]
VENDORED = ROOT / "web" / "console" / "VENDORED.md"
PAGES = ["/console/signin", *(f"/console/{name}" for name in console.PAGES), "/console/jobs/x1"]
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S)


@pytest.fixture(scope="module")
def app(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Flask:
    settings = Settings(
        models_dir=models_dir,
        storage_root=tmp_path_factory.mktemp("storage"),
        redis_url=f"{redis_server.url}/0",  # pages read nothing from Redis: no db of its own
        grafana_url="",
        flower_url="https://flower.example/",
    )
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()  # no API key: the pages hold no data


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_served_without_a_key_under_the_console_policy(
    client: FlaskClient, path: str
) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["Content-Security-Policy"] == CONSOLE_POLICY
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"


def test_the_console_policy_runs_only_its_own_script_files() -> None:
    directives = dict(d.split(" ", 1) for d in CONSOLE_POLICY.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONSOLE_POLICY


@pytest.mark.parametrize("path", PAGES)
def test_no_page_holds_an_inline_script_or_one_from_another_origin(
    client: FlaskClient, path: str
) -> None:
    scripts = SCRIPT.findall(client.get(path).get_data(as_text=True))
    assert scripts
    for attributes, body in scripts:
        assert body.strip() == ""
        src = re.search(r'src="([^"]+)"', attributes)
        assert src is not None
        assert src.group(1).startswith("/console/static/")
        assert client.get(src.group(1)).status_code == 200


def test_the_report_frame_is_sandboxed_like_a_report(client: FlaskClient) -> None:
    r = client.get("/console/report-frame")
    assert r.headers["Content-Security-Policy"] == REPORT_POLICY


def test_an_unknown_page_is_404(client: FlaskClient) -> None:
    assert client.get("/console/nothing-here").status_code == 404


def test_the_home_of_the_console_is_its_jobs(client: FlaskClient) -> None:
    r = client.get("/console/")
    assert r.status_code == 302
    assert r.headers["Location"].endswith("/console/jobs")


def test_links_to_other_tools_come_from_the_settings(client: FlaskClient) -> None:
    page = client.get("/console/jobs").get_data(as_text=True)
    assert 'href="https://flower.example/"' in page
    assert ">Grafana<" not in page  # an empty URL hides the link
    assert 'href="/docs"' in page


def test_every_vendored_file_is_the_one_recorded() -> None:
    recorded = re.findall(r"^([0-9a-f]{64})  (\S+)$", VENDORED.read_text(), re.M)
    assert len(recorded) == 4
    for digest, path in recorded:
        assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == digest, path
