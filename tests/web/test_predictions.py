"""Submitting prediction jobs and reading them back, against a real web and worker."""

from __future__ import annotations

import math

import numpy as np
import pytest
import requests

from devsupport import Stack
from tests.payloads import PASSENGER, passengers

pytestmark = pytest.mark.integration


def submit(
    stack: Stack, instances: list[dict], wait: float | None = None, **kw
) -> requests.Response:
    params = {"wait": wait} if wait is not None else None
    return stack.http.post(
        stack.url("/api/v1/predictions"),
        json={"instances": instances},
        params=params,
        timeout=40,
        **kw,
    )


def test_a_submitted_job_succeeds_with_probabilities_summing_to_one(stack: Stack) -> None:
    r = submit(stack, [{**PASSENGER, "id": "alice"}])
    assert r.status_code == 202
    location = r.headers["Location"]
    assert location == f"/api/v1/jobs/{r.json()['id']}"
    job = stack.http.get(stack.url(location), params={"wait": 5}, timeout=10).json()
    assert job["status"] == "succeeded"
    (prediction,) = job["result"]["predictions"]
    assert prediction["id"] == "alice"
    assert set(prediction["probabilities"]) == {"died", "survived"}
    assert math.isclose(sum(prediction["probabilities"].values()), 1.0, abs_tol=1e-9)
    assert prediction["prediction"] == max(
        prediction["probabilities"], key=prediction["probabilities"].get
    )
    assert job["progress"] == {"done": 1, "total": 1}


def test_post_with_wait_answers_200_with_the_finished_job(stack: Stack) -> None:
    r = submit(stack, passengers(5), wait=10)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "succeeded"
    assert [p["id"] for p in body["result"]["predictions"]] == [f"p{i}" for i in range(5)]


def test_predictions_equal_the_model_scored_directly(stack: Stack) -> None:
    from ml.registry import Registry

    rows = passengers(20)
    body = submit(stack, rows, wait=10).json()
    model = Registry(stack.env["LIFEBOAT_MODELS_DIR"]).load(None)
    expected = model.predict_proba_rows([{k: v for k, v in r.items() if k != "id"} for r in rows])
    got = [
        [p["probabilities"][c] for c in model.class_labels] for p in body["result"]["predictions"]
    ]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_unknown_job_id_is_404_problem(stack: Stack) -> None:
    r = stack.http.get(stack.url("/api/v1/jobs/no-such-job"), timeout=5)
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/problem+json"
    assert r.json()["status"] == 404


def test_jobs_list_shows_recent_jobs_newest_first(stack: Stack) -> None:
    ids = [submit(stack, [PASSENGER], wait=5).json()["id"] for _ in range(3)]
    listed = stack.http.get(
        stack.url("/api/v1/jobs"), params={"type": "prediction", "limit": 3}, timeout=5
    ).json()
    assert [j["id"] for j in listed["jobs"]] == ids[::-1]


def test_jobs_list_pages_with_a_cursor_and_shows_no_results(stack: Stack) -> None:
    key = stack.make_key("pages", "predict", "read")
    ids = []
    for _ in range(5):
        r = key.post(
            stack.url("/api/v1/predictions"),
            json={"instances": [PASSENGER]},
            params={"wait": 5},
            timeout=40,
        )
        ids.append(r.json()["id"])
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = key.get(stack.url("/api/v1/jobs"), params=params, timeout=5).json()
        assert all("result" not in j and j["status"] == "succeeded" for j in page["jobs"])
        seen += [j["id"] for j in page["jobs"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == (ids[::-1], 3)


def test_finished_job_cannot_be_cancelled(stack: Stack) -> None:
    job = submit(stack, [PASSENGER], wait=5).json()
    assert job["status"] == "succeeded"
    r = stack.http.delete(stack.url(f"/api/v1/jobs/{job['id']}"), timeout=5)
    assert r.status_code == 409
    assert (
        stack.http.get(stack.url(f"/api/v1/jobs/{job['id']}"), timeout=5).json()["status"]
        == "succeeded"
    )


def test_models_endpoint_lists_the_default_version_with_its_card(stack: Stack) -> None:
    models = stack.http.get(stack.url("/api/v1/models"), timeout=5).json()
    assert models["default"] == "test-v1"
    card = stack.http.get(stack.url("/api/v1/models/test-v1"), timeout=5).json()["card"]
    assert card["holdout_metrics"]["roc_auc"] >= 0.84
    assert stack.http.get(stack.url("/api/v1/models/nope"), timeout=5).status_code == 404


def test_ready_reports_redis_model_and_worker(stack: Stack) -> None:
    r = stack.http.get(stack.url("/ready"), timeout=10)
    assert r.status_code == 200
    checks = r.json()["checks"]
    assert [checks[name]["ok"] for name in ("redis", "model", "workers")] == [True] * 3


def test_openapi_and_swagger_ui_are_served_offline(stack: Stack) -> None:
    doc = stack.http.get(stack.url("/openapi.json"), timeout=5).json()
    assert "/api/v1/predictions" in doc["paths"]
    instance = doc["components"]["schemas"]["Instance"]
    assert instance["properties"]["sex"]["enum"] == ["female", "male"]
    page = stack.http.get(stack.url("/docs"), timeout=5)
    assert page.status_code == 200
    for asset in ("/docs/assets/js/swagger-ui-bundle.js", "/docs/assets/css/swagger-ui.css"):
        assert stack.http.get(stack.url(asset), timeout=5).status_code == 200
        assert asset in page.text


def test_metrics_count_predictions_of_every_process(stack: Stack) -> None:
    port = stack.env["LIFEBOAT_WORKER_METRICS_PORT"]

    def scored() -> float:
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("ml_predictions_total{")
        )

    before = scored()
    for _ in range(6):  # spread over both pool children
        assert submit(stack, passengers(3), wait=5).json()["status"] == "succeeded"
    assert scored() - before == 18
    web = stack.http.get(stack.url("/metrics"), timeout=5).text
    assert (
        'lifeboat_http_requests_total{method="POST",route="/api/v1/predictions",status="200"}'
        in web
    )
