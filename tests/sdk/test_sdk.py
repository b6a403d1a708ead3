"""The SDK, installed alone in a fresh venv (``pip install ./client``), against a live stack."""

from __future__ import annotations

from pathlib import Path

import pytest

from devsupport import Stack
from tests.batches.helpers import rows, to_csv
from tests.sdk.conftest import SdkVenv
from tests.sdk.dropping_proxy import DroppingProxy

pytestmark = pytest.mark.integration


def test_the_sdk_is_imported_from_the_venv_not_the_checkout(sdk_venv: SdkVenv) -> None:
    where = sdk_venv.sdk("where", "http://127.0.0.1:9", "")
    assert where["file"].startswith(str(sdk_venv.root)), where


def test_the_sdk_predicts_waits_and_lists_jobs(stack: Stack, sdk_venv: SdkVenv) -> None:
    seen = sdk_venv.sdk("tour_predictions", stack.base_url, stack.admin_key)
    assert seen["predict"] == {"status": "succeeded", "ids": ["p0", "p1", "p2"]}
    assert seen["labels"] == ["died", "survived"]
    assert seen["wait"] == {"same": True, "status": "succeeded"}
    assert seen["job"] == "succeeded"
    assert seen["jobs"] is True
    assert seen["iter_jobs"] >= 2
    assert seen["invalid"] == {
        "status": 422,
        "title": "Invalid request",
        "loc": ["instances", 0, "age"],
    }
    assert seen["not_found"] == 404


def test_the_sdk_scores_a_batch_builds_a_report_and_sends_feedback(
    stack: Stack, sdk_venv: SdkVenv
) -> None:
    seen = sdk_venv.sdk("tour_files", stack.base_url, stack.admin_key, str(sdk_venv.workdir))
    assert seen["batch"] == {"status": "succeeded", "lines": 31}
    assert seen["phases"] == ["downloading", "succeeded", "uploading"]
    assert seen["parquet_magic"] == "PAR1"
    assert seen["report"] == {"status": "succeeded", "type": "drift_report"}
    assert seen["report_html"] is True
    assert seen["feedback"] == {"accepted": 2, "unknown": 0}
    assert seen["feedback_again"] == {"duplicate": 1, "unknown": 1}


def test_the_sdk_reads_models_and_monitoring_and_manages_keys(
    stack: Stack, sdk_venv: SdkVenv
) -> None:
    seen = sdk_venv.sdk("tour_admin", stack.base_url, stack.admin_key)
    assert seen == {
        "models": 1,
        "model_card_has_schema": True,
        "monitoring": True,
        "key": {"tenant": "sdk-tour", "has_token": True},
        "key_listed": True,
        "tenant_predict": "succeeded",
        "revoked": True,
        "revoked_key": {"status": 401, "title": "Unauthorized"},
        "ready": True,
    }


def test_the_async_client_predicts_scores_a_batch_and_lists(
    stack: Stack, sdk_venv: SdkVenv
) -> None:
    seen = sdk_venv.sdk("async_tour", stack.base_url, stack.admin_key)
    assert seen == {
        "predict": ["p0", "p1", "p2"],
        "batch_lines": 6,
        "jobs": True,
        "models": 1,
        "deployment": [True, True],
        "history": ["set", True],
    }


def test_waiting_times_out_and_cancel_is_idempotent_on_a_queued_job(
    idle_stack: Stack, sdk_venv: SdkVenv
) -> None:
    seen = sdk_venv.sdk("idle", idle_stack.base_url, idle_stack.admin_key)
    assert seen == {
        "timeout": "queued",
        "cancel": "cancelled",
        "cancel_again": "cancelled",
        "after": "cancelled",
    }


def test_a_rate_limited_key_is_retried_after_retry_after(stack: Stack, sdk_venv: SdkVenv) -> None:
    # half a request a second: a bucket of one, refilled every 2 s, so back-to-back calls
    # are refused however slow the machine is
    key = stack.make_key("sdk-rate", "read", rate_limit_per_second=0.5)
    seen = sdk_venv.sdk("rate_limited", stack.base_url, key.token, "4")
    assert seen["answered"] == 4
    assert 429 in seen["statuses"]
    assert seen["statuses"].count(200) == 4
    assert seen["refused"]["status"] == 429
    assert seen["refused"]["retry_after"] >= 1


def _tenant_jobs(stack: Stack, tenant: str) -> list[dict]:
    r = stack.http.get(stack.url(f"/api/v1/jobs?tenant={tenant}&limit=200"), timeout=10)
    r.raise_for_status()
    return r.json()["jobs"]


def _upstream_port(stack: Stack) -> int:
    return int(stack.base_url.rsplit(":", 1)[1])


def test_a_prediction_whose_answer_is_lost_is_retried_into_exactly_one_job(
    stack: Stack, sdk_venv: SdkVenv
) -> None:
    tenant = "sdk-dropped-prediction"
    key = stack.make_key(tenant, "predict", "read")
    with DroppingProxy(_upstream_port(stack), "POST", "/api/v1/predictions") as proxy:
        seen = sdk_venv.sdk("submit", proxy.url, key.token)
    posts = [s for s in proxy.seen if s.method == "POST"]
    assert [p.dropped for p in posts] == [True, False]
    assert posts[0].headers["idempotency-key"] == posts[1].headers["idempotency-key"]
    assert [j["id"] for j in _tenant_jobs(stack, tenant)] == [seen["id"]]


def test_a_batch_upload_whose_answer_is_lost_is_retried_into_exactly_one_job(
    stack: Stack, sdk_venv: SdkVenv, tmp_path: Path
) -> None:
    tenant = "sdk-dropped-batch"
    key = stack.make_key(tenant, "batch", "read")
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv(rows(50)))
    with DroppingProxy(_upstream_port(stack), "POST", "/api/v1/batches") as proxy:
        seen = sdk_venv.sdk("submit_batch", proxy.url, key.token, str(source))
    posts = [s for s in proxy.seen if s.method == "POST"]
    assert [p.dropped for p in posts] == [True, False]
    assert posts[0].headers["idempotency-key"] == posts[1].headers["idempotency-key"]
    assert [j["id"] for j in _tenant_jobs(stack, tenant)] == [seen["id"]]


def test_a_report_whose_answer_is_lost_is_sent_again_into_one_job(
    idle_stack: Stack, sdk_venv: SdkVenv
) -> None:
    tenant = "sdk-dropped-report"
    key = idle_stack.make_key(tenant, "report", "monitor", "read")
    with DroppingProxy(_upstream_port(idle_stack), "POST", "/api/v1/reports") as proxy:
        seen = sdk_venv.sdk("report_dropped", proxy.url, key.token)
    posts = [s for s in proxy.seen if s.method == "POST"]
    assert [p.dropped for p in posts] == [True, False]
    assert posts[0].headers["idempotency-key"] == posts[1].headers["idempotency-key"]
    assert [j["id"] for j in _tenant_jobs(idle_stack, tenant)] == [seen["id"]]
