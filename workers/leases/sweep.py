"""Beat's sweeper: publish again what an expired lease held.

A message can be lost outside Celery's guarantees: the web died (or Redis failed)
between writing a job and publishing its task; a worker's main process was killed
with tasks in hand (their messages wait out the broker's visibility timeout,
hours). Every such job or batch part has a lease that nobody renews
(:mod:`core.jobs.leases`); the sweeper reads only the expired ones, queues back
what a dead worker held and publishes each one's task again. A re-published task
of something that has meanwhile finished, or that a live worker holds, does
nothing; one taken ``LIFEBOAT_MAX_ATTEMPTS`` times fails as ``poison``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator

from celery import Celery

from core.jobs import Expired, JobType
from core.queue import (
    BATCHES_QUEUE,
    BUILD_REPORT_TASK,
    PREDICT_TASK,
    SCORE_BATCH_PART_TASK,
    SCORE_BATCH_TASK,
)
from telemetry import metrics
from workers.runtime import Runtime

log = logging.getLogger(__name__)

MAX_ROUNDS = 10  # reads of `lease_sweep_batch` expired leases in one run; the rest waits
PREDICTIONS_PER_MESSAGE = 256  # prediction jobs re-published in one message (as the web does)
TASK_OF = {
    JobType.BATCH.value: SCORE_BATCH_TASK,
    JobType.DRIFT_REPORT.value: BUILD_REPORT_TASK,
    JobType.PERFORMANCE_REPORT.value: BUILD_REPORT_TASK,
    JobType.COMPARISON_REPORT.value: BUILD_REPORT_TASK,
}


def sweep(rt: Runtime, app: Celery) -> int:
    """Publish again what every expired lease held; returns how many were published."""
    limit = rt.settings.lease_sweep_batch
    published = 0
    for _ in range(MAX_ROUNDS):
        expired = rt.store.sweep(limit)
        published += publish(app, expired)
        if len(expired) < limit:
            break
    return published


def publish(app: Celery, expired: list[Expired]) -> int:
    """Send a task for each job or part taken back (prediction jobs several a message)."""
    counted: Counter[tuple[str, str]] = Counter()
    predictions = []
    for e in expired:
        counted[e.kind, "running" if e.was_running else "queued"] += 1
        if e.kind == JobType.PREDICTION.value:
            predictions.append(e.job_id)
        elif e.part is not None:
            app.send_task(SCORE_BATCH_PART_TASK, args=[e.job_id, e.part], queue=BATCHES_QUEUE)
        else:
            app.send_task(TASK_OF[e.kind], args=[e.job_id])
    for ids in _chunks(predictions, PREDICTIONS_PER_MESSAGE):
        app.send_task(PREDICT_TASK, args=[ids])
    for (kind, state), n in counted.items():
        metrics.LEASES_EXPIRED.labels(kind, state).inc(n)
    if expired:
        log.warning("expired leases published again: %s", dict(counted))
    return len(expired)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
