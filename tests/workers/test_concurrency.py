"""LIFEBOAT_WORKER_CONCURRENCY sizes the pool of a worker started without ``--concurrency``."""

from __future__ import annotations

import pytest

from core.queue import make_celery
from core.settings import Settings
from devsupport import Stack, celery_command, free_port, start, wait_until


def test_the_celery_app_takes_its_pool_size_from_the_settings() -> None:
    assert make_celery(Settings(worker_concurrency=3)).conf.worker_concurrency == 3


def test_concurrency_zero_leaves_celery_one_pool_process_per_core() -> None:
    assert make_celery(Settings(worker_concurrency=0)).conf.worker_concurrency is None


@pytest.mark.integration
def test_a_worker_started_without_concurrency_flag_runs_the_configured_pool(
    fresh_stack: Stack,
) -> None:
    env = {**fresh_stack.env, "LIFEBOAT_WORKER_CONCURRENCY": "3"}
    cmd = celery_command("worker", "-Q", "predictions", f"--hostname=conc-{free_port()}@%h")
    proc = start("worker", cmd, env, fresh_stack.logdir)
    fresh_stack.procs["worker"] = proc
    wait_until(lambda: "concurrency:" in proc.output(), 60, "the worker banner", proc)
    assert "concurrency: 3 (prefork)" in proc.output()
