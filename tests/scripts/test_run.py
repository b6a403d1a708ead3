"""What ``make run`` (scripts/run.py) starts."""

from __future__ import annotations

from core.settings import Settings
from scripts.run import app_processes


def test_make_run_leaves_the_scoring_workers_pool_size_to_the_settings() -> None:
    commands = dict(app_processes(Settings(), "redis://127.0.0.1:1/0"))
    assert "--concurrency" not in commands["worker"]


def test_make_run_runs_one_report_at_a_time() -> None:
    commands = dict(app_processes(Settings(worker_concurrency=4), "redis://127.0.0.1:1/0"))
    assert "--concurrency=1" in commands["reports"]
