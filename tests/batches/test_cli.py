"""``python -m client batch`` against a running stack."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devsupport import ROOT, Stack, free_port
from tests.batches.helpers import rows, to_csv, to_parquet

pytestmark = pytest.mark.integration


def cli(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return cli_at(stack.base_url, *args, env={"LIFEBOAT_API_KEY": stack.admin_key})


def cli_at(
    url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "client", "batch", *args, "--url", url],
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_cli_uploads_a_file_follows_its_job_and_writes_the_scored_file(
    stack: Stack, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv(rows(40)))
    target = tmp_path / "scored.csv"
    done = cli(stack, str(source), "-o", str(target), "--id-column", "passenger")
    assert done.returncode == 0, done.stderr
    with target.open() as f:
        out = list(csv.DictReader(f))
    assert [r["passenger"] for r in out] == [f"p{i}" for i in range(40)]
    assert all(r["prediction"] in ("died", "survived") for r in out)
    assert "scored 40 row(s), 0 with errors" in done.stderr


def test_the_cli_exits_non_zero_with_the_servers_message_when_the_file_is_refused(
    stack: Stack, tmp_path: Path
) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv(rows(3), ["passenger", "pclass", "sex", "sibsp", "parch"]))
    target = tmp_path / "scored.csv"
    done = cli(stack, str(source), "-o", str(target))
    assert done.returncode == 1
    assert "Invalid request (422): the file lacks required column(s): age, fare, embarked" in (
        done.stderr
    )
    assert "file.columns.age: required column missing" in done.stderr
    assert not target.exists()


def test_the_cli_exits_non_zero_with_the_jobs_error_when_the_job_fails(
    stack: Stack, tmp_path: Path
) -> None:
    records = rows(3)
    for r in records:
        r["pclass"] = "9"
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv(records))
    done = cli(stack, str(source), "-o", str(tmp_path / "scored.csv"))
    assert done.returncode == 1
    assert "failed: every row of the file failed validation (3 row(s))" in done.stderr


def test_the_cli_scores_a_parquet_file_into_a_parquet_file(stack: Stack, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    source = tmp_path / "in.parquet"
    source.write_bytes(to_parquet(rows(25)))
    target = tmp_path / "scored.parquet"
    done = cli(stack, str(source), "-o", str(target), "--id-column", "passenger")
    assert done.returncode == 0, done.stderr
    out = pq.read_table(target)
    assert out.column("passenger").to_pylist() == [f"p{i}" for i in range(25)]
    assert set(out.column("prediction").to_pylist()) <= {"died", "survived"}
    assert out.column("error").null_count == 25
    assert "scored 25 row(s), 0 with errors" in done.stderr


def usage_error(source: Path, target: Path) -> subprocess.CompletedProcess[str]:
    """The CLI against a port nothing listens on: a usage error must come before any request."""
    return cli_at(f"http://127.0.0.1:{free_port()}", str(source), "-o", str(target))


def test_a_missing_input_file_is_a_one_line_usage_error(tmp_path: Path) -> None:
    source = tmp_path / "missing.csv"
    done = usage_error(source, tmp_path / "scored.csv")
    assert done.returncode == 2
    assert done.stderr == f"error: cannot read {source}: No such file or directory\n"


def test_a_folder_as_input_file_is_a_one_line_usage_error(tmp_path: Path) -> None:
    done = usage_error(tmp_path, tmp_path / "scored.csv")
    assert done.returncode == 2
    assert done.stderr == f"error: cannot read {tmp_path}: Is a directory\n"


def test_an_output_in_a_missing_folder_is_a_usage_error_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv(rows(3)))
    target = tmp_path / "nowhere" / "scored.csv"
    done = usage_error(source, target)
    assert done.returncode == 2
    assert done.stderr == f"error: cannot write {target}: {target.parent} is not a folder\n"


def test_the_cli_sends_the_api_key_given_on_its_command_line(stack: Stack, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv(rows(5)))
    target = tmp_path / "scored.csv"
    key = stack.make_key("cli-tenant", "batch", "read")
    done = cli_at(
        stack.base_url,
        str(source),
        "-o",
        str(target),
        "--api-key",
        key.token,
        env={"LIFEBOAT_API_KEY": "lb_not_this_one"},
    )
    assert done.returncode == 0, done.stderr
    assert len(target.read_text().splitlines()) == 6


def test_the_cli_without_a_key_exits_1_with_the_servers_401(stack: Stack, tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_bytes(to_csv(rows(5)))
    env = {k: v for k, v in os.environ.items() if k != "LIFEBOAT_API_KEY"}
    target = str(tmp_path / "o.csv")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "client",
            "batch",
            str(source),
            "-o",
            target,
            "--url",
            stack.base_url,
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "error: Unauthorized (401): send an API key: Authorization: Bearer <key>"
    )
