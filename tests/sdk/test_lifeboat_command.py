"""The ``lifeboat`` command, installed alone in a fresh venv, against a live stack."""

from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import pytest

from devsupport import Stack, free_port
from tests.batches.helpers import rows, to_csv
from tests.payloads import passengers
from tests.sdk.conftest import SdkVenv

pytestmark = pytest.mark.integration


def run(venv: SdkVenv, stack: Stack, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    done = venv.cli(*args, url=stack.base_url, api_key=stack.admin_key, **kw)  # type: ignore[arg-type]
    assert "Traceback" not in done.stderr, done.stderr
    return done


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_predict_reads_csv_rows_and_prints_a_table(
    stack: Stack, sdk_venv: SdkVenv, tmp_path: Path
) -> None:
    source = tmp_path / "people.csv"
    source.write_text(
        "id,pclass,sex,age,sibsp,parch,fare,embarked\n"
        "alice,1,female,29,0,0,211.34,S\n"
        "bob,3,male,,0,0,7.25,S\n"
    )
    done = run(sdk_venv, stack, "predict", str(source))
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "alice" in line or "bob" in line]
    assert len(lines) == 2
    assert all(("survived" in line) != ("died" in line) for line in lines)


@pytest.mark.parametrize("kind", ["json", "jsonl"])
def test_predict_reads_json_and_json_lines_and_prints_json(
    stack: Stack, sdk_venv: SdkVenv, tmp_path: Path, kind: str
) -> None:
    instances = passengers(3)
    source = tmp_path / f"people.{kind}"
    if kind == "json":
        source.write_text(json.dumps(instances))
    else:
        source.write_text("\n".join(json.dumps(i) for i in instances) + "\n")
    done = run(sdk_venv, stack, "predict", str(source), "--json")
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["status"] == "succeeded"
    assert [p["id"] for p in job["result"]["predictions"]] == ["p0", "p1", "p2"]


def test_jobs_list_get_and_wait_show_a_job(stack: Stack, sdk_venv: SdkVenv) -> None:
    made = run(sdk_venv, stack, "predict", "-", "--json", stdin=json.dumps(passengers(1)))
    job_id = json.loads(made.stdout)["id"]
    listed = run(sdk_venv, stack, "jobs", "list", "--type", "prediction", "--json")
    assert listed.returncode == 0, listed.stderr
    assert job_id in [j["id"] for j in json.loads(listed.stdout)]
    got = run(sdk_venv, stack, "jobs", "get", job_id, "--json")
    assert json.loads(got.stdout)["status"] == "succeeded"
    waited = run(sdk_venv, stack, "jobs", "wait", job_id)
    assert waited.returncode == 0, waited.stderr
    assert job_id in waited.stdout


def test_jobs_cancel_then_wait_exits_3_for_the_cancelled_job(
    idle_stack: Stack, sdk_venv: SdkVenv
) -> None:
    made = run(
        sdk_venv, idle_stack, "predict", "-", "--wait", "0.1", stdin=json.dumps(passengers(1))
    )
    assert made.returncode == 1  # nothing scores on this stack: the wait times out
    job_id = one_line(made).split("job ", 1)[1].split(" ", 1)[0]
    cancelled = run(sdk_venv, idle_stack, "jobs", "cancel", job_id, "--json")
    assert json.loads(cancelled.stdout)["status"] == "cancelled"
    waited = run(sdk_venv, idle_stack, "jobs", "wait", job_id)
    assert waited.returncode == 3
    assert one_line(waited) == f"error: job {job_id} cancelled: cancelled by a client"


def test_batch_writes_the_scored_file(stack: Stack, sdk_venv: SdkVenv, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv(rows(40)))
    target = tmp_path / "out.csv"
    done = run(sdk_venv, stack, "batch", str(source), "-o", str(target), "--id-column", "passenger")
    assert done.returncode == 0, done.stderr
    with target.open() as f:
        assert [r["passenger"] for r in csv.DictReader(f)] == [f"p{i}" for i in range(40)]
    assert "uploading" in done.stderr
    assert done.stderr.splitlines()[-1].startswith("scored 40 row(s), 0 with errors")


def test_a_batch_whose_rows_all_fail_exits_3(
    stack: Stack, sdk_venv: SdkVenv, tmp_path: Path
) -> None:
    records = rows(3)
    for r in records:
        r["pclass"] = "9"
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv(records))
    done = run(sdk_venv, stack, "batch", str(source), "-o", str(tmp_path / "out.csv"))
    assert done.returncode == 3
    last = done.stderr.splitlines()[-1]
    assert last.startswith("error: job "), last
    assert "failed: every row of the file failed validation (3 row(s))" in last
    assert not (tmp_path / "out.csv").exists()


def test_report_drift_saves_the_html_and_opens_it(
    stack: Stack, sdk_venv: SdkVenv, tmp_path: Path
) -> None:
    run(sdk_venv, stack, "predict", "-", stdin=json.dumps(passengers(100)))
    opened = tmp_path / "opened"
    browser = tmp_path / "browser.sh"
    browser.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    browser.chmod(0o755)
    target = tmp_path / "drift.html"
    done = run(
        sdk_venv,
        stack,
        "report",
        "drift",
        "--last",
        "100",
        "-o",
        str(target),
        "--open",
        "--json",
        extra_env={"BROWSER": f"{browser} %s"},
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["type"] == "drift_report"
    assert "<html" in target.read_text().lower()
    assert opened.read_text().strip() == target.resolve().as_uri()


def test_feedback_sends_labels_from_a_csv_file(
    stack: Stack, sdk_venv: SdkVenv, tmp_path: Path
) -> None:
    made = run(sdk_venv, stack, "predict", "-", "--json", stdin=json.dumps(passengers(2)))
    ids = [p["prediction_id"] for p in json.loads(made.stdout)["result"]["predictions"]]
    labels = tmp_path / "labels.csv"
    labels.write_text(f"prediction_id,actual\n{ids[0]},survived\n{ids[1]},died\nnope,died\n")
    done = run(sdk_venv, stack, "feedback", str(labels))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "received 3, accepted 2, duplicate 0, unknown 1"


def test_models_lists_the_installed_version(stack: Stack, sdk_venv: SdkVenv) -> None:
    done = run(sdk_venv, stack, "models", "--json")
    assert done.returncode == 0, done.stderr
    assert [m["version"] for m in json.loads(done.stdout)] == ["test-v1"]
    table = run(sdk_venv, stack, "models")
    assert "test-v1" in table.stdout


def test_url_and_api_key_options_beat_the_environment(stack: Stack, sdk_venv: SdkVenv) -> None:
    key = stack.make_key("cli-options", "read")
    done = sdk_venv.cli(
        "models",
        "--json",
        "--url",
        stack.base_url,
        "--api-key",
        key.token,
        url=f"http://127.0.0.1:{free_port()}",
        api_key="lb_not_this_one",
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)[0]["version"] == "test-v1"


def test_a_missing_key_is_one_line_and_exit_1(stack: Stack, sdk_venv: SdkVenv) -> None:
    done = sdk_venv.cli("models", url=stack.base_url, api_key=None)
    assert done.returncode == 1
    assert one_line(done) == (
        "error: Unauthorized (401): send an API key: Authorization: Bearer <key>"
    )


def test_an_unreadable_file_is_a_usage_error_before_anything_is_sent(
    sdk_venv: SdkVenv, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.csv"
    done = sdk_venv.cli("predict", str(missing), url=f"http://127.0.0.1:{free_port()}", api_key="")
    assert done.returncode == 2
    assert one_line(done) == f"error: cannot read {missing}: No such file or directory"


def test_a_bad_option_is_a_one_line_usage_error(sdk_venv: SdkVenv) -> None:
    done = sdk_venv.cli("jobs", "list", "--limit", "0", url="http://127.0.0.1:9", api_key="")
    assert done.returncode == 2
    assert one_line(done).startswith("error: Invalid value for '--limit'")


def test_an_unreachable_server_is_one_line_and_exit_1(sdk_venv: SdkVenv) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = sdk_venv.cli("models", url=url, api_key="lb_x", extra_env={})
    assert done.returncode == 1
    assert one_line(done).startswith(f"error: cannot talk to {url}")
