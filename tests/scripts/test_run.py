"""What ``make run`` (scripts/run.py) starts."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from scripts.run import app_processes, key_file


def test_make_run_leaves_the_scoring_workers_pool_size_to_the_settings() -> None:
    commands = dict(app_processes(Settings(), "redis://127.0.0.1:1/0"))
    assert "--concurrency" not in commands["worker"]


def test_make_run_runs_one_report_at_a_time() -> None:
    commands = dict(app_processes(Settings(worker_concurrency=4), "redis://127.0.0.1:1/0"))
    assert "--concurrency=1" in commands["reports"]


def test_a_key_file_is_made_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "api-key"
    token, made = key_file(path)
    assert made
    assert path.stat().st_mode & 0o777 == 0o600
    assert key_file(path) == (token, False)
