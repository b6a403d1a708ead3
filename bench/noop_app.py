"""A bare Celery app with one no-op task: the raw round-trip baseline.

Same broker (and result backend) as Lifeboat, read from the same settings, but
its own queue, so a Lifeboat worker never sees its messages. Everything else is
Celery's defaults with JSON: this is "Celery alone", the floor any Celery
design pays per job.

Worker: ``python -m celery -A bench.noop_app:app worker -Q bench-noop -c 2``.
"""

from __future__ import annotations

from celery import Celery

from core.settings import get_settings

NOOP_QUEUE = "bench-noop"
NOOP_TASK = "bench.noop"

_url = get_settings().redis_url
app = Celery("bench-noop", broker=_url, backend=_url)
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    task_default_queue=NOOP_QUEUE,
    task_routes={NOOP_TASK: {"queue": NOOP_QUEUE}},
    result_expires=600,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name=NOOP_TASK)
def noop() -> None:
    """Do nothing."""
