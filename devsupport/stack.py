"""A Lifeboat stack of real processes, each started on demand: web, worker, beat.

The integration tests and the drift benchmark run one per Redis database; every
port is free and on loopback, every file under the stack's own folder.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import redis

from devsupport.commands import (
    WEB_APP,
    WORKER_READY_MARK,
    celery_command,
    web_command,
    worker_command,
)
from devsupport.http import KeyedHTTP
from devsupport.ports import LOOPBACK, free_port
from devsupport.processes import LOG_TAIL_CHARS, Proc, http_ok, start, wait_until
from devsupport.redis_server import RedisServer

WEB_START_TIMEOUT = 30.0  # seconds gunicorn has to answer /health
WORKER_START_TIMEOUT = 90.0  # seconds a worker has to serve /metrics, and its children the model
DEFAULT_QUEUES = (
    "predictions,batches,reports,webhooks,shadow"  # one worker for everything, unlike production
)
ADMIN_KEY_ENV = "LIFEBOAT_BOOTSTRAP_ADMIN_KEY"  # the web makes this admin key when it starts
METRICS_KEY_ENV = "LIFEBOAT_BOOTSTRAP_METRICS_KEY"  # and this key with the metrics scope


def new_token() -> str:
    """A random API key token (the platform's own format)."""
    return "lb_" + secrets.token_urlsafe(32)


def wait_for_worker(proc: Proc, metrics_url: str, concurrency: int, timeout: float) -> None:
    """Wait until a worker serves its metrics and every pool child has loaded the model."""
    wait_until(lambda: http_ok(metrics_url), timeout, "worker metrics", proc)
    wait_until(
        lambda: proc.output().count(WORKER_READY_MARK) >= concurrency,
        timeout,
        f"{concurrency} worker pool children to load the model",
        proc,
    )


@dataclass
class Stack:
    """A web (gunicorn) and optionally a Celery worker and beat, sharing one Redis db."""

    env: dict[str, str]
    base_url: str
    redis: redis.Redis
    logdir: Path
    procs: dict[str, Proc] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def admin_key(self) -> str:
        """The stack's admin API key (tenant ``ops``), made by the web when it starts."""
        return self.env[ADMIN_KEY_ENV]

    @property
    def http(self) -> KeyedHTTP:
        """HTTP with the admin key."""
        return KeyedHTTP(self.admin_key)

    def make_key(self, tenant: str, *scopes: str, **limits: object) -> KeyedHTTP:
        """A new API key of ``tenant`` with ``scopes``, made through the API."""
        r = self.http.post(
            self.url("/api/v1/keys"),
            json={"name": f"{tenant} test key", "tenant": tenant, "scopes": list(scopes), **limits},
            timeout=10,
        )
        r.raise_for_status()
        return KeyedHTTP(r.json()["token"], r.json()["id"])

    def start_web(self, app: str = WEB_APP) -> Proc:
        proc = start("web", web_command(app), self.env, self.logdir)
        self.procs["web"] = proc
        wait_until(lambda: http_ok(self.url("/health")), WEB_START_TIMEOUT, "web", proc)
        return proc

    def start_worker(
        self,
        *,
        concurrency: int = 2,
        extra_env: dict[str, str] | None = None,
        queues: str = DEFAULT_QUEUES,
        name: str = "worker",
    ) -> Proc:
        """A worker consuming ``queues``; a second one needs its own ``name`` and
        ``LIFEBOAT_WORKER_METRICS_PORT`` (in ``extra_env``)."""
        env = {**self.env, **(extra_env or {})}
        cmd = worker_command(queues, concurrency, f"test-{free_port()}@%h")
        proc = start(name, cmd, env, self.logdir)
        self.procs[name] = proc
        metrics = f"http://{LOOPBACK}:{env['LIFEBOAT_WORKER_METRICS_PORT']}/metrics"
        wait_for_worker(proc, metrics, concurrency, WORKER_START_TIMEOUT)
        return proc

    def start_beat(self) -> Proc:
        """Celery beat with its schedule file in the stack's log folder."""
        schedule = f"--schedule={self.logdir / 'celerybeat-schedule'}"
        proc = start(
            "beat", celery_command("beat", "--loglevel=INFO", schedule), self.env, self.logdir
        )
        self.procs["beat"] = proc
        return proc

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc:
            proc.stop()

    def log_tails(self, chars: int = LOG_TAIL_CHARS) -> str:
        """The end of every process's log: what a failing test quotes."""
        return "\n".join(f"--- {n}:\n{p.output()[-chars:]}" for n, p in self.procs.items())

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


STORAGE_URL_ENV = "LIFEBOAT_STORAGE_URL"  # set by the tests' --storage=s3 pass
UNBINDING_RATE = 1_000_000  # requests a second per key: far above any test's load
UNBINDING_COUNT = 1_000_000  # jobs a tenant may have queued: far above any test's


def stack_env(redis_url: str, models_dir: Path, storage: Path, **extra: str) -> dict[str, str]:
    """This process's environment with a private Redis db, models, storage and free ports."""
    env = dict(os.environ)
    env.update(
        {
            "LIFEBOAT_REDIS_URL": redis_url,
            "LIFEBOAT_MODELS_DIR": str(models_dir),
            "LIFEBOAT_STORAGE_ROOT": str(storage),
            "LIFEBOAT_WEB_PORT": str(free_port()),
            "LIFEBOAT_WORKER_METRICS_PORT": str(free_port()),
            "LIFEBOAT_WEB_WORKERS": "2",
            ADMIN_KEY_ENV: new_token(),
            METRICS_KEY_ENV: new_token(),
            # limiting on, never binding: tests of the limit set their own rate
            "LIFEBOAT_RATE_LIMIT_PER_SECOND": str(UNBINDING_RATE),
            # the admin key's tenant is shared by a module's tests, whose jobs may stay
            # queued on a stack without a worker: quota tests give their keys their own
            "LIFEBOAT_TENANT_MAX_ACTIVE_BATCHES": str(UNBINDING_COUNT),
            "LIFEBOAT_TENANT_MAX_ACTIVE_JOBS": str(UNBINDING_COUNT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    if env.get(STORAGE_URL_ENV) and STORAGE_URL_ENV not in extra:
        # stacks share the bucket: each its own prefix, or one's sweep takes another's files
        env[STORAGE_URL_ENV] = (
            f"{env[STORAGE_URL_ENV].rstrip('/')}/{storage.name}-{secrets.token_hex(4)}"
        )
    return env


def make_stack(
    redis_server: RedisServer, db: int, models_dir: Path, storage: Path, **extra: str
) -> Stack:
    """A stack on database ``db`` of ``redis_server``, nothing started yet."""
    env = stack_env(f"{redis_server.url}/{db}", models_dir, storage, **extra)
    return Stack(
        env=env,
        base_url=f"http://{LOOPBACK}:{env['LIFEBOAT_WEB_PORT']}",
        redis=redis_server.client(db),
        logdir=storage / "logs",
    )
