"""Command lines of Lifeboat's own processes, as ``make run``, tests and benchmarks start them."""

from __future__ import annotations

from devsupport.ports import LOOPBACK
from devsupport.processes import PY, ROOT

CELERY_APP = "workers.celery_app:app"
# celery-exporter pins prometheus-client<0.22 and redis<6: it has a venv of its own
EXPORTER_PYTHON = ROOT / ".venv-exporter" / "bin" / "python"
WORKER_READY_MARK = "ready: model version"  # logged by every worker pool child with its model


def celery_command(*args: str, app: str = CELERY_APP) -> list[str]:
    """``python -m celery -A <app> <args…>`` with this interpreter."""
    return [PY, "-m", "celery", "-A", app, *args]


def worker_command(
    queues: str, concurrency: int, hostname: str, loglevel: str = "INFO"
) -> list[str]:
    """A Lifeboat Celery worker consuming ``queues`` (comma-separated)."""
    return celery_command(
        "worker",
        "-Q",
        queues,
        f"--loglevel={loglevel}",
        f"--concurrency={concurrency}",
        f"--hostname={hostname}",
    )


WEB_APP = "web.app:create_app()"
# the web app with a stand-in for authentication (tests and benchmarks only)
STAND_IN_AUTH_APP = "devsupport.stand_in_auth:create_app()"


def web_command(app: str = WEB_APP) -> list[str]:
    """gunicorn serving the Lifeboat web app (it reads its address from the settings)."""
    return [PY, "-m", "gunicorn", "-c", str(ROOT / "web" / "gunicorn_conf.py"), app]


def exporter_command(port: int, *extra: str, host: str = LOOPBACK) -> list[str]:
    """celery-exporter (PyPI ``prometheus-exporter-celery``: package ``src``, no script).

    It reads its broker URL from ``CE_BROKER_URL`` in its environment: on the command
    line, a password would show in ``ps``."""
    return [
        str(EXPORTER_PYTHON),
        "-c",
        'from src.cli import cli; cli(auto_envvar_prefix="CE")',
        f"--port={port}",
        f"--host={host}",
        *extra,
    ]
