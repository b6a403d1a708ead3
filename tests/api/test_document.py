"""The OpenAPI document covers every route, and says what the server enforces."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from web import console
from web.api.document import IGNORED_METHODS, UNDOCUMENTED_ENDPOINTS, openapi_path

METHODS = {"get", "put", "post", "delete", "patch"}


def routed(app: Flask) -> set[tuple[str, str]]:
    return {
        (openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in UNDOCUMENTED_ENDPOINTS
        for method in (rule.methods or set()) - IGNORED_METHODS
    }


def documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, m) for path, ops in doc["paths"].items() for m in ops if m in METHODS}


def test_every_route_is_documented_and_every_documented_operation_is_routed(
    app: Flask, client: FlaskClient
) -> None:
    doc = client.get("/openapi.json").get_json()
    assert sorted(routed(app) - documented(doc)) == []
    assert sorted(documented(doc) - routed(app)) == []


def test_the_undocumented_endpoints_are_only_swagger_uis_files_and_the_console(
    app: Flask,
) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints & UNDOCUMENTED_ENDPOINTS == {"docs.static", *console.ENDPOINTS}
    assert {e for e in endpoints if e.startswith("console.")} == console.ENDPOINTS


def test_the_cancel_operation_is_post_and_delete_is_its_deprecated_alias(
    client: FlaskClient,
) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "deprecated" not in paths["/api/v1/jobs/{job_id}/cancel"]["post"]
    assert paths["/api/v1/jobs/{job_id}"]["delete"]["deprecated"] is True


def test_the_document_carries_the_limits_the_server_checks(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    post = doc["paths"]["/api/v1/reports"]["post"]
    report = post["requestBody"]["content"]["application/json"]["schema"]
    last = report["properties"]["window"]["oneOf"][0]["properties"]["last"]
    assert (last["minimum"], last["maximum"]) == (100, 100_000)
    feedback = doc["paths"]["/api/v1/feedback"]["post"]["requestBody"]["content"]
    item = feedback["application/json"]["schema"]["properties"]["items"]["items"]
    assert item["properties"]["actual"]["enum"] == ["died", "survived"]
    assert item["properties"]["prediction_id"]["maxLength"] == 200
    params = {p["name"]: p for p in doc["paths"]["/api/v1/predictions"]["post"]["parameters"]}
    assert params["Idempotency-Key"]["schema"]["pattern"]
    jobs = {p["name"]: p for p in doc["paths"]["/api/v1/jobs"]["get"]["parameters"]}
    assert "succeeded" in jobs["status"]["schema"]["enum"]


@pytest.mark.parametrize(
    ("query", "loc"),
    [
        ("limit=3&limit=5", ["query", "limit"]),
        ("limit=0", ["query", "limit"]),
        ("limit=1.5", ["query", "limit"]),
        ("status=done", ["query", "status"]),
        ("cursor=nope", ["query", "cursor"]),
        ("cursor=1~a.b", ["query", "cursor"]),
    ],
)
def test_a_bad_list_parameter_is_422_naming_it(
    client: FlaskClient, query: str, loc: list[str]
) -> None:
    r = client.get(f"/api/v1/jobs?{query}")
    assert r.status_code == 422
    assert [e["loc"] for e in r.get_json()["errors"]] == [loc]


def test_json_nested_a_thousand_deep_is_400_naming_the_body(client: FlaskClient) -> None:
    r = client.post(
        "/api/v1/predictions", data=b"[" * 1000 + b"]" * 1000, content_type="application/json"
    )
    assert r.status_code == 400
    assert r.get_json()["errors"] == [{"loc": ["body"], "msg": "nested too deeply"}]


def test_a_report_csv_with_a_bare_carriage_return_is_422_naming_the_file(
    client: FlaskClient,
) -> None:
    r = client.post(
        "/api/v1/reports",
        data={"type": "drift", "file": (io.BytesIO(b"a\rb\n"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 422
    assert [e["loc"] for e in r.get_json()["errors"]] == [["file"]]


def test_a_report_without_a_content_type_is_415(client: FlaskClient) -> None:
    r = client.post("/api/v1/reports")
    assert r.status_code == 415
    assert r.headers["Content-Type"] == "application/problem+json"


def test_an_idempotency_key_with_control_characters_is_422_naming_the_header(
    client: FlaskClient,
) -> None:
    r = client.post(
        "/api/v1/predictions", json={"instances": []}, headers={"Idempotency-Key": "a\tb"}
    )
    assert r.status_code == 422
    assert [e["loc"] for e in r.get_json()["errors"]] == [["header", "Idempotency-Key"]]


PUBLIC = {
    ("/health", "get"),
    ("/ready", "get"),
    ("/metrics", "get"),
    ("/docs", "get"),
    ("/openapi.json", "get"),
}


def test_every_operation_but_the_public_ones_documents_the_429_of_its_rate_limit(
    client: FlaskClient,
) -> None:
    doc = client.get("/openapi.json").get_json()
    limited = {
        (path, method)
        for path, ops in doc["paths"].items()
        for method, op in ops.items()
        if "429" in op["responses"]
    }
    assert limited == documented(doc) - PUBLIC
    answer = doc["paths"]["/api/v1/predictions"]["post"]["responses"]["429"]
    assert set(answer["headers"]) == {"Retry-After", "RateLimit-Policy", "RateLimit"}
