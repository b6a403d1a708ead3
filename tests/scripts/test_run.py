"""What ``make run`` (scripts/run.py) starts, and its private Redis, started for real."""

from __future__ import annotations

import shlex
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from core.settings import Settings
from devsupport import (
    Proc,
    RedisServer,
    exporter_command,
    free_port,
    start,
    wait_until,
    without_password,
)
from scripts.run import app_processes, banner, key_file, plan

START_TIMEOUT = 10.0  # seconds the private redis-server has to answer
APP_PROCESSES = {"worker", "reports", "beat", "web", "flower"}


def nothing_answers() -> Settings:
    """Settings whose LIFEBOAT_REDIS_URL no Redis answers: make run starts its own."""
    return Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")


def start_planned_redis(procs: list[tuple[str, str]], logdir: Path) -> Proc:
    """Start the ``redis`` entry of a plan exactly as supervisord would run it."""
    [cmd] = [cmd for name, cmd in procs if name == "redis"]
    return start("private-redis", shlex.split(cmd), {}, logdir)


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[Settings, Path, list[Proc]]]:
    """(settings, var folder, processes to stop): what a test starts is stopped after it."""
    procs: list[Proc] = []
    yield nothing_answers(), tmp_path / "var", procs
    for proc in procs:
        proc.stop()


def test_make_run_leaves_the_scoring_workers_pool_size_to_the_settings() -> None:
    commands = dict(app_processes(Settings()))
    assert "--concurrency" not in commands["worker"]


def test_make_run_runs_one_report_at_a_time() -> None:
    commands = dict(app_processes(Settings(worker_concurrency=4)))
    assert "--concurrency=1" in commands["reports"]


def test_make_run_passes_the_private_redis_password_to_every_process_by_environment(
    tmp_path: Path,
) -> None:
    run = plan(nothing_answers(), {}, tmp_path)
    password = (tmp_path / "redis" / "password").read_text().strip()
    assert run.redis_url == f"redis://:{password}@{run.redis_url.split('@')[1]}"
    # the workers, beat, the web and Flower read LIFEBOAT_REDIS_URL (the Celery app's
    # broker); celery-exporter reads CE_BROKER_URL: supervisord gives each process this env
    assert run.env["LIFEBOAT_REDIS_URL"] == run.redis_url
    assert run.env["CE_BROKER_URL"] == run.redis_url
    names = {name for name, _ in run.procs}
    assert APP_PROCESSES | {"redis"} <= names
    for name, cmd in run.procs:
        assert password not in cmd, f"{name} shows the password in ps"
        for override in ("LIFEBOAT_REDIS_URL", "CE_BROKER_URL", "--broker", "redis://"):
            assert override not in cmd, f"{name} does not take the URL from its environment"


def test_celery_exporter_takes_its_broker_url_from_the_environment_only() -> None:
    cmd = exporter_command(9808)
    assert not [arg for arg in cmd if arg.startswith("--broker-url")]
    assert 'auto_envvar_prefix="CE"' in " ".join(cmd)


def test_what_make_run_prints_never_shows_the_redis_password(tmp_path: Path) -> None:
    run = plan(nothing_answers(), {}, tmp_path)
    password = (tmp_path / "redis" / "password").read_text().strip()
    printed = banner(Settings(), run, "admin:flower-secret")
    assert password not in printed
    assert without_password(run.redis_url) in printed
    assert "redis://:***@127.0.0.1:" in printed


def test_a_redis_that_answers_is_used_as_given(own_redis: RedisServer, tmp_path: Path) -> None:
    given = f"{own_redis.url}/3"
    run = plan(Settings(redis_url=given), {}, tmp_path / "var")
    assert run.redis_url == given
    assert run.env["LIFEBOAT_REDIS_URL"] == given
    assert "redis" not in {name for name, _ in run.procs}
    assert not (tmp_path / "var").exists()


def test_the_password_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = plan(nothing_answers(), {}, tmp_path)
    second = plan(nothing_answers(), {}, tmp_path)
    folder = tmp_path / "redis"
    assert first.redis_url.split("@")[0] == second.redis_url.split("@")[0]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in ("password", "redis.conf", "url"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name


@pytest.mark.parametrize("appendfsync", ["everysec", "always"])
def test_the_private_redis_starts_with_a_password_and_an_append_only_file(
    started: tuple[Settings, Path, list[Proc]], appendfsync: str
) -> None:
    settings, var, procs = started
    settings = settings.model_copy(update={"redis_appendfsync": appendfsync})
    run = plan(settings, {}, var)
    procs.append(start_planned_redis(run.procs, var))
    client = redis.Redis.from_url(run.redis_url)
    wait_until(client.ping, START_TIMEOUT, "the private redis", procs[0])
    port = run.redis_url.rsplit(":", 1)[1].split("/")[0]
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=int(port)).ping()
    config = client.config_get("*")
    assert config["appendonly"] == "yes"
    assert config["appendfsync"] == appendfsync
    assert Path(config["dir"]) == (var / "redis").resolve()
    assert config["bind"] == "127.0.0.1"


def test_the_private_redis_keeps_queued_jobs_across_a_restart(
    started: tuple[Settings, Path, list[Proc]],
) -> None:
    settings, var, procs = started
    first = plan(settings, {}, var)
    procs.append(start_planned_redis(first.procs, var))
    client = redis.Redis.from_url(first.redis_url)
    wait_until(client.ping, START_TIMEOUT, "the private redis", procs[-1])
    client.lpush("predictions", "a queued message")
    client.close()
    procs[-1].stop()  # SIGTERM, as Ctrl-C on make run: Redis flushes its AOF and exits

    again = plan(nothing_answers(), {}, var)  # make run again, on another free port
    procs.append(start_planned_redis(again.procs, var))
    client = redis.Redis.from_url(again.redis_url)
    wait_until(client.ping, START_TIMEOUT, "the private redis, restarted", procs[-1])
    assert client.lrange("predictions", 0, -1) == [b"a queued message"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:s3cret@127.0.0.1:6380/0", "redis://:***@127.0.0.1:6380/0"),
        ("redis://web:s3cret@redis:6379/0", "redis://web:***@redis:6379/0"),
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
    ],
)
def test_printed_redis_urls_hide_the_password(url: str, shown: str) -> None:
    assert without_password(url) == shown


def test_a_key_file_is_made_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "var" / "api-key"
    token, made = key_file(path)
    assert made
    assert path.stat().st_mode & 0o777 == 0o600
    assert key_file(path) == (token, False)


def test_what_make_run_prints_uses_the_addresses_the_servers_bind(tmp_path: Path) -> None:
    run = plan(nothing_answers(), {}, tmp_path)
    settings = Settings(web_host="0.0.0.0", worker_metrics_host="10.231.7.3")
    printed = banner(settings, run, "admin:flower-secret")
    assert f"API            http://{socket.gethostname()}:8000/api/v1/predictions" in printed
    assert "worker metrics http://10.231.7.3:9101/metrics" in printed
    assert "http://10.231.7.3:9102/metrics  (reports)" in printed
