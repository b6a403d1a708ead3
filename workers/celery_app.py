"""The Celery app of the workers: ``celery -A workers.celery_app:app worker``.

In a worker main process this module, imported before anything else of ours,
pins BLAS/OpenMP threads through the environment (inherited by every pool child)
and points prometheus_client at a fresh multiprocess directory, both before
numpy or prometheus_client are imported.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# `celery -A` puts the working directory on sys.path only while it imports the app;
# the tasks import `ml` later, so the project root stays on the path.
# (appended, not tested for: during that import the directory is there, then removed)
sys.path.append(str(Path(__file__).resolve().parents[1]))

from core.settings import get_settings

settings = get_settings()

THREAD_ENV = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def _is_worker_main() -> bool:
    return "worker" in sys.argv[1:]


def worker_metrics_dir() -> str:
    base = settings.metrics_dir or settings.storage_root / "metrics"
    return str(base / f"worker-{settings.worker_metrics_port or os.getpid()}")


if _is_worker_main():
    for name in THREAD_ENV:
        os.environ[name] = str(settings.worker_threads)
    from telemetry.multiprocess import prepare

    prepare(Path(worker_metrics_dir()), wipe=True)

from core.queue import make_celery  # noqa: E402
from workers import beat  # noqa: E402

app = make_celery(settings)
app.conf.imports = (
    "workers.predictions.tasks",
    "workers.batches.tasks",
    "workers.monitoring.tasks",
    "workers.leases.tasks",
    "workers.webhooks.tasks",
    "workers.deployment.tasks",
    "workers.signals",
    "workers.shutdown",  # before the pool forks: its shared stop flag must be inherited
    "workers.presence",  # after shutdown: its grace timer starts before the withdrawal
    "workers.timeouts",
)
app.conf.beat_schedule = beat.schedule(settings)
app.conf.worker_consumer = "workers.events:Consumer"  # task events off the event loop
