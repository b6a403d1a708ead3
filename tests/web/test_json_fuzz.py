"""JSON bodies, arbitrary or nested at any depth: a 4xx problem naming the field, never a 500.

The body reader is fuzzed on arbitrary bytes (a value or ``MalformedBody``);
then every JSON endpoint of the real application gets bodies with nested
values put where a field belongs, at any depth, and answers a 4xx problem
(400 naming the body once msgspec gives up on the nesting), within a bound.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core import stores
from core.errors import MalformedBody
from core.settings import Settings
from devsupport import RedisServer
from tests.payloads import PASSENGER
from web.app import create_app
from web.bodies import json_body

FUZZ = settings(
    max_examples=200,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
MAX_BYTES = 1 << 20
ENDPOINTS = ("/api/v1/predictions", "/api/v1/feedback", "/api/v1/reports")


def nested(depth: int, kind: str = "list") -> bytes:
    """A JSON value of arrays (or objects) ``depth`` deep."""
    if kind == "list":
        return b"[" * depth + b"1" + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


# --- the body reader alone -------------------------------------------------------------------
reader_app = Flask(__name__)


@FUZZ
@given(st.binary(max_size=4096))
@example(nested(100_000))
@example(nested(100_000, "object"))
@example(b"[" * 100_000)
def test_any_bytes_are_a_json_value_or_malformed_body(raw: bytes) -> None:
    headers = {"Content-Type": "application/json"}
    with reader_app.test_request_context("/", method="POST", data=raw, headers=headers):
        try:
            value, got = json_body(MAX_BYTES)
        except MalformedBody as exc:
            refused: MalformedBody | None = exc
        else:
            refused = None
    if refused is not None:
        assert refused.errors[0]["loc"] == ["body"]
        return
    assert got == raw
    json.dumps(value)  # a plain JSON value


# --- every JSON endpoint of the application --------------------------------------------------
@pytest.fixture(scope="module")
def client(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> FlaskClient:
    settings_ = Settings(
        redis_url=f"{redis_server.url}/14",
        models_dir=models_dir,
        storage_root=tmp_path_factory.mktemp("json-fuzz"),
    )
    app = create_app(settings_)
    keys = stores.api_keys(settings_, app.extensions["lifeboat"].store.redis)
    _, token = keys.create(name="json fuzz", tenant="ops", scopes=frozenset({"admin"}))
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _bodies_with(value: bytes) -> list[bytes]:
    """Bodies of each endpoint with ``value`` where a field, an item or the body belongs."""
    passenger = json.dumps(PASSENGER)[1:-1].encode()
    return [
        value,
        b'{"instances": ' + value + b"}",
        b'{"instances": [' + value + b"]}",
        b'{"instances": [{' + passenger + b', "age": ' + value + b"}]}",
        b'{"items": [{"prediction_id": ' + value + b', "actual": "survived"}]}',
        b'{"type": "drift", "window": {"last": ' + value + b"}}",
    ]


def _post(client: FlaskClient, path: str, body: bytes) -> Any:
    r = client.post(path, data=body, headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, (path, r.status_code, r.get_data()[:300])
    assert r.headers["Content-Type"] == "application/problem+json"
    return r


@FUZZ
@given(
    st.integers(1, 5000),
    st.sampled_from(["list", "object"]),
    st.sampled_from(ENDPOINTS),
    st.integers(0, 5),
)
@example(1000, "list", "/api/v1/predictions", 0)
@example(950, "object", "/api/v1/predictions", 3)
def test_a_value_nested_at_any_depth_anywhere_is_a_4xx_problem(
    client: FlaskClient, depth: int, kind: str, path: str, where: int
) -> None:
    _post(client, path, _bodies_with(nested(depth, kind))[where])


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_a_thousand_deep_or_more_is_400_naming_the_body(
    client: FlaskClient, path: str, depth: int
) -> None:
    r = _post(client, path, b'{"instances": ' + nested(depth) + b"}")
    assert r.status_code == 400
    assert r.get_json()["errors"] == [{"loc": ["body"], "msg": "nested too deeply"}]


def test_json_nested_500_deep_is_422_naming_the_field(client: FlaskClient) -> None:
    r = _post(client, "/api/v1/predictions", b'{"instances": [' + nested(500) + b"]}")
    assert r.status_code == 422
    assert [e["loc"] for e in r.get_json()["errors"]] == [["instances", 0]]
