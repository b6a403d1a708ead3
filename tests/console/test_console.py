"""The console, page by page, in a real browser against a real stack (see ``conftest``)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from devsupport import Stack
from tests.batches.helpers import rows, to_csv
from tests.console.conftest import Console, wait_for_drift_check
from tests.payloads import PASSENGER

pytestmark = pytest.mark.integration
BATCH_ROWS = 100_000


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def batch_csv(tmp_path: Path, n: int) -> Path:
    path = tmp_path / "passengers.csv"
    records = rows(n)
    records[3]["sex"] = "robot"  # one row the model cannot score: flagged in `error`
    path.write_bytes(to_csv(records))
    return path


def test_signing_in_keeps_the_key_in_session_storage_only(console: Console) -> None:
    page = console.page
    assert page.evaluate("sessionStorage.getItem('lifeboat.apiKey')") == console.token
    assert page.context.cookies() == []
    assert console.token not in page.url
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    console.check("jobs")


def test_a_wrong_key_is_refused_on_the_sign_in_page(console: Console) -> None:
    page = console.page
    page.evaluate("sessionStorage.clear()")
    console.open("/console/signin")
    page.get_by_label("API key").fill("lb_not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    assert page.evaluate("sessionStorage.getItem('lifeboat.apiKey')") is None
    console.check("signin")


def test_a_prediction_from_the_form_shows_its_answer(console: Console) -> None:
    page = console.open("/console/predict")
    page.get_by_label("pclass").fill("1")
    page.get_by_label("sex").select_option("female")
    page.get_by_label("age (optional)").fill("29")
    page.get_by_label("sibsp").fill("0")
    page.get_by_label("parch").fill("0")
    page.get_by_label("fare (optional)").fill("211.34")
    page.get_by_label("embarked (optional)").select_option("S")
    expect(page.get_by_label("age (optional)")).to_have_attribute("max", "160")
    page.get_by_role("button", name="Predict").click()
    answer = page.locator("#answer")
    expect(answer).to_contain_text("survived")
    expect(answer.locator(".bar-value")).to_have_count(2)
    # the same instance through the API gives the same answer
    r = console.stack.http.post(
        console.stack.url("/api/v1/predictions?wait=10"), json={"instances": [PASSENGER]}
    )
    expected = r.json()["result"]["predictions"][0]
    expect(answer.locator(".big")).to_have_text(expected["prediction"])
    console.check("predict")


def test_a_422_is_shown_beside_the_field_it_names(console: Console) -> None:
    page = console.open("/console/predict")
    page.get_by_label("pclass").fill("2")
    page.get_by_label("sex").select_option("male")
    page.get_by_label("age (optional)").fill("500")  # above the card's maximum (160)
    page.get_by_label("sibsp").fill("0")
    page.get_by_label("parch").fill("0")
    page.get_by_role("button", name="Predict").click()
    expect(page.locator("#error-age")).not_to_be_empty()
    expect(page.locator("#error-age")).to_contain_text("160")
    expect(page.get_by_label("age (optional)")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#error-sibsp")).to_be_empty()
    expect(page.locator("#answer")).to_have_count(0)
    console.check("predict-422")


def test_a_100k_row_csv_is_uploaded_scored_and_downloaded(console: Console, tmp_path: Path) -> None:
    source = batch_csv(tmp_path, BATCH_ROWS)
    page = console.open("/console/batches")
    page.get_by_label("CSV or Parquet file").set_input_files(str(source))
    page.get_by_label("Id column (optional)").fill("passenger")
    page.get_by_role("button", name="Upload and score").click()
    expect(page.locator("#batch-result")).to_be_visible(timeout=120_000)
    expect(page.locator("#upload-progress")).to_have_attribute("value", "1")
    expect(page.locator("#failed-rows")).to_have_text("1")
    expect(page.locator("#batch-result table")).to_contain_text("p3")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").first.click()
    saved = tmp_path / "scored.csv"
    info.value.save_as(saved)
    with saved.open(newline="") as f:
        scored = list(csv.DictReader(f))
    assert len(scored) == BATCH_ROWS
    assert scored[0]["passenger"] == "p0"
    assert scored[3]["error"] != ""
    assert scored[4]["error"] == ""
    with page.expect_download() as info:
        page.get_by_role("button", name="Download Parquet").click()
    assert info.value.suggested_filename.endswith(".parquet")
    console.check("batches")


def test_a_drift_report_opens_sandboxed_with_its_summary(console: Console) -> None:
    page = console.open("/console/reports")
    page.get_by_label("How many").fill("200")
    page.get_by_role("button", name="Build the report").click()
    expect(page.locator("#report-features")).to_be_visible(timeout=120_000)
    frame_el = page.locator("#report-frame")
    assert frame_el.get_attribute("sandbox") == "allow-scripts"
    frame = page.frame_locator("#report-frame")
    expect(frame.locator("svg, canvas").first).to_be_attached(timeout=30_000)
    report = next(f for f in page.frames if f.url.endswith("/console/report-frame"))
    assert report.evaluate("window.origin") == "null"  # opaque: no access to the key
    drifted = page.locator("#report-features tbody tr")
    flags = drifted.locator("td:last-child").all_inner_texts()
    assert flags == sorted(flags, key=lambda f: f != "yes")  # drifted features first
    assert len(flags) == 7
    console.check("reports")


def test_a_drift_report_from_an_uploaded_csv(console: Console, tmp_path: Path) -> None:
    source = tmp_path / "current.csv"
    source.write_bytes(to_csv(rows(300)))
    page = console.open("/console/reports")
    page.get_by_label("an uploaded CSV").check()
    page.get_by_label("CSV file").set_input_files(str(source))
    page.get_by_role("button", name="Build the report").click()
    expect(page.locator("#report-features tbody tr")).to_have_count(7, timeout=120_000)
    job_id = page.url.rsplit("job=", 1)[1]
    job = console.stack.http.get(console.stack.url(f"/api/v1/jobs/{job_id}")).json()
    assert job["input"]["source"] == "upload"
    shown = job["result"]["summary"]["number_of_drifted_features"]
    expect(page.locator("#report-headline")).to_contain_text(f"{shown} of 7 features drifted")


def test_a_file_dropped_on_the_batches_page_is_scored(console: Console) -> None:
    page = console.open("/console/batches")
    csv_text = to_csv(rows(10)).decode()
    page.locator(".drop").evaluate(
        """(zone, text) => {
            const data = new DataTransfer();
            data.items.add(new File([text], "dropped.csv", {type: "text/csv"}));
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
        }""",
        csv_text,
    )
    expect(page.get_by_text("dropped.csv")).to_be_visible()
    page.get_by_role("button", name="Upload and score").click()
    expect(page.locator("#batch-result")).to_be_visible(timeout=60_000)
    expect(page.locator("#failed-rows")).to_have_text("0")


def test_the_models_page_shows_drift_scores_after_a_scheduled_check(console: Console) -> None:
    monitoring = wait_for_drift_check(console.stack)
    features = monitoring["drift_check"]["summary"]["features"]
    page = console.open("/console/models")
    table = page.locator("article[data-version='test-v1'] table.drift")
    expect(table.locator("tbody tr")).to_have_count(len(features))
    age = table.locator("tbody tr", has=page.locator("td", has_text="age")).first
    expect(age).to_contain_text(f"{features['age']['score']:.3f}")
    direction = "score < " if "p_value" in features["sex"]["method"] else "score ≥ "
    sex = table.locator("tbody tr", has=page.locator("td", has_text="sex")).first
    expect(sex).to_contain_text(direction)
    measured = monitoring["measured_accuracy"]["accuracy"]
    expect(page.get_by_text(f"{100 * measured:.1f} % over")).to_be_visible()
    expect(page.locator("#accuracy-0 canvas")).to_have_count(1)
    expect(page.locator("#volume-0 canvas")).to_have_count(1)
    expect(page.locator("#traffic-policy")).to_contain_text("test-v1")
    console.check("models")


def test_a_jobs_status_changes_on_screen_without_a_reload(console: Console, tmp_path: Path) -> None:
    stack: Stack = console.stack
    body = batch_csv(tmp_path, BATCH_ROWS).read_bytes()
    r = stack.http.post(
        stack.url("/api/v1/batches"), data=body, headers={"Content-Type": "text/csv"}
    )
    job_id = r.json()["id"]
    page = console.open("/console/jobs")
    page.evaluate("window.__sameDocument = true")
    status = page.locator(f"tr[data-job-id='{job_id}'] .status")
    expect(status).to_be_visible()
    assert status.inner_text() not in ("succeeded", "failed", "cancelled")
    expect(status).to_have_text("succeeded", timeout=120_000)
    assert page.evaluate("window.__sameDocument") is True  # the page was never reloaded
    page.get_by_label("Type").select_option("prediction")
    expect(page.locator(f"tr[data-job-id='{job_id}']")).to_have_count(0)
    console.open(f"/console/jobs/{job_id}")
    expect(page.locator("#job-status")).to_have_text("succeeded")
    expect(page.locator("#job-input")).to_contain_text(f"csv, {len(body):,} bytes")
    console.check("job")


def test_a_running_job_is_cancelled_from_the_jobs_page(console: Console, tmp_path: Path) -> None:
    stack: Stack = console.stack
    body = batch_csv(tmp_path, BATCH_ROWS).read_bytes()
    r = stack.http.post(
        stack.url("/api/v1/batches"), data=body, headers={"Content-Type": "text/csv"}
    )
    job_id = r.json()["id"]
    page = console.open("/console/jobs")
    row = page.locator(f"tr[data-job-id='{job_id}']")
    row.get_by_role("button", name="Cancel").click()
    expect(row.locator(".status")).to_have_text("cancelled")
    job = stack.http.get(stack.url(f"/api/v1/jobs/{job_id}")).json()
    assert job["status"] == "cancelled"
