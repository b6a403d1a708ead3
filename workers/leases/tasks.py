"""The sweeper's Celery task (beat runs it every ``LIFEBOAT_LEASE_SWEEP_SECONDS``)."""

from __future__ import annotations

from celery import shared_task

from core.queue import REQUEUE_STALE_TASK
from workers import beat
from workers.leases.sweep import sweep
from workers.runtime import runtime


@shared_task(name=REQUEUE_STALE_TASK, bind=True)
def requeue_stale(self) -> int:
    """Publish again the jobs and batch parts whose lease expired (a lost message or worker)."""
    rt = runtime()
    published = sweep(rt, self.app)
    beat.ran(rt.settings, REQUEUE_STALE_TASK)
    return published
