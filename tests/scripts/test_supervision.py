"""The supervisord configuration ``make run`` writes, as supervisord itself reads it."""

from __future__ import annotations

from pathlib import Path

from supervisor.datatypes import RestartUnconditionally
from supervisor.options import ServerOptions

from core.settings import Settings
from devsupport import ROOT
from scripts import supervision
from scripts.run import app_processes

REDIS = ("redis", "redis-server --port 1")


def programs(tmp_path: Path, settings: Settings) -> dict:
    procs = [REDIS, *app_processes(settings, tmp_path)]
    config = supervision.write_config(procs, settings, ROOT, tmp_path)
    options = ServerOptions()
    options.realize(args=["-c", str(config)])
    return {group.name: group.process_configs[0] for group in options.process_group_configs}


def test_every_process_is_restarted_whenever_it_exits_with_backoff(tmp_path: Path) -> None:
    got = programs(tmp_path, Settings())
    assert {"redis", "worker", "reports", "beat", "web", "flower"} <= set(got)
    for config in got.values():
        assert config.autorestart is RestartUnconditionally
        assert config.startretries == supervision.START_RETRIES
        assert config.startsecs == supervision.START_SECONDS


def test_workers_are_given_the_grace_period_before_they_are_killed(tmp_path: Path) -> None:
    got = programs(tmp_path, Settings(worker_grace_seconds=42))
    for name in ("worker", "reports"):
        assert got[name].stopwaitsecs == 42
        assert got[name].stopasgroup is False  # SIGTERM to the main process only …
        assert got[name].killasgroup is True  # … SIGKILL to all it forked


def test_the_web_stops_first_and_redis_last(tmp_path: Path) -> None:
    got = programs(tmp_path, Settings())
    order = sorted(got, key=lambda name: got[name].priority)
    assert order[0] == "redis"
    assert order[-1] == "web"


def test_celery_hostnames_reach_the_command_line_unexpanded(tmp_path: Path) -> None:
    got = programs(tmp_path, Settings())
    assert got["worker"].command.endswith("--hostname=scoring@%h")
