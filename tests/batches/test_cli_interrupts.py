"""Ctrl-C stops ``python -m client batch`` in every phase with one line and exit status 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devsupport import ROOT, Proc, Stack, wait_until
from tests.batches.helpers import rows, to_csv
from tests.batches.stalling_server import JOB_ID, stalling_server, unanswered_port

pytestmark = pytest.mark.integration

EXIT_INTERRUPTED = 130
UPLOAD_FILE_BYTES = 32 * 1024 * 1024  # more than loopback socket buffers hold


class RunningCli:
    """The CLI as a child process, its stderr in a file the test reads as it goes."""

    def __init__(self, url: str, source: Path, target: Path, tmp_path: Path, api_key: str) -> None:
        cmd = [sys.executable, "-m", "client", "batch", str(source), "-o", str(target)]
        cmd += ["--api-key", api_key]
        log = tmp_path / "cli.stderr"
        # a handled SIGINT here is a default one in the child (exec resets it), as a shell
        # gives a command; an ignored one would stay ignored
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            with log.open("wb") as err:
                popen = subprocess.Popen(
                    [*cmd, "--url", url],
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=err,
                    start_new_session=True,
                )
        finally:
            signal.signal(signal.SIGINT, previous)
        self.proc = Proc("cli", popen, log)

    def wait_for(self, check: Callable[[], object], what: str) -> None:
        wait_until(check, 30, what, self.proc)

    def interrupt(self) -> tuple[int, str]:
        """Send SIGINT (what Ctrl-C sends); the exit status and the last line of stderr."""
        os.kill(self.proc.popen.pid, signal.SIGINT)
        status = self.proc.popen.wait(30)
        err = self.proc.output()
        assert "Traceback" not in err, err
        return status, err.strip().splitlines()[-1]


CliRunner = Callable[..., RunningCli]


@pytest.fixture
def run_cli(tmp_path: Path) -> Iterator[CliRunner]:
    """Start the CLI on an input file of ``size`` bytes or so; stopped at the end in any case."""
    started: list[RunningCli] = []

    def run(url: str, target: Path, size: int = 0, api_key: str = "lb_unused") -> RunningCli:
        source = tmp_path / "in.csv"
        data = to_csv(rows(20))
        source.write_bytes(data + data.split(b"\n", 1)[1] * (size // len(data)))
        started.append(RunningCli(url, source, target, tmp_path, api_key))
        return started[-1]

    yield run
    for cli in started:
        cli.proc.stop()


def test_ctrl_c_while_connecting_exits_130_with_one_line(
    run_cli: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "scored.csv"
    with unanswered_port() as url:
        cli = run_cli(url, target)
        cli.wait_for(lambda: "uploading" in cli.proc.output(), "the upload")
        status, last = cli.interrupt()
    assert status == EXIT_INTERRUPTED
    assert last == "interrupted during the upload"
    assert not target.exists()


def test_ctrl_c_during_the_upload_exits_130_with_one_line(
    run_cli: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "scored.csv"
    with stalling_server("upload") as server:
        cli = run_cli(server.url, target, UPLOAD_FILE_BYTES)
        cli.wait_for(server.stalled.is_set, "the middle of the upload")
        status, last = cli.interrupt()
    assert status == EXIT_INTERRUPTED
    assert last == "interrupted during the upload"
    assert not target.exists()


def test_ctrl_c_while_waiting_cancels_the_job_and_exits_130(
    idle_stack: Stack, run_cli: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "scored.csv"
    cli = run_cli(idle_stack.base_url, target, api_key=idle_stack.admin_key)
    # no worker: the job stays queued
    cli.wait_for(lambda: "queued" in cli.proc.output(), "the wait for the job")
    status, last = cli.interrupt()
    assert status == EXIT_INTERRUPTED
    assert last.startswith("interrupted: job "), last
    assert last.endswith(" cancelled"), last
    job_id = last.removeprefix("interrupted: job ").removesuffix(" cancelled")
    job = idle_stack.http.get(idle_stack.url(f"/api/v1/jobs/{job_id}"), timeout=10).json()
    assert job["status"] == "cancelled"
    assert not target.exists()


def test_ctrl_c_during_the_download_deletes_the_partial_file_and_exits_130(
    run_cli: CliRunner, tmp_path: Path
) -> None:
    target = tmp_path / "scored.csv"
    part = tmp_path / "scored.csv.part"
    with stalling_server("download") as server:
        cli = run_cli(server.url, target)
        cli.wait_for(lambda: part.exists() and part.stat().st_size > 0, "a partial download")
        status, last = cli.interrupt()
    assert status == EXIT_INTERRUPTED
    assert last.startswith(f"interrupted: job {JOB_ID} succeeded but {target} was not written")
    assert not part.exists()
    assert not target.exists()
