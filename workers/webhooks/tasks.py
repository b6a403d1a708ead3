"""The delivery task: one attempt per run, retried by Celery with a countdown.

It runs on the ``webhooks`` queue (its own worker), so a slow receiver never holds up
scoring; the job has finished before the task is queued, so nothing here can delay or
fail it.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from core.queue import DELIVER_WEBHOOK_TASK
from core.webhooks import delivery
from workers.runtime import runtime

log = logging.getLogger(__name__)


@shared_task(name=DELIVER_WEBHOOK_TASK, bind=True, max_retries=None)
def deliver_webhook(self: Any, job_id: str) -> str:
    """Deliver a finished job's webhook; retry later while it is worth it."""
    rt = runtime()
    job = delivery.finished_job(rt.store, job_id)
    if job is None:
        return "nothing to deliver: expired, delivered already, or no callback URL"
    got = delivery.attempt(rt.settings, rt.redis, job)
    if got.delivered:
        return f"delivered job {job_id}: HTTP {got.status}"
    delay = delivery.next_delay(job, got, rt.settings)
    what = f"HTTP {got.status}" if got.status is not None else got.error
    if delay is None:
        log.warning("webhook of job %s not delivered, not retried: %s", job_id, what)
        return f"gave up on job {job_id}: {what}"
    log.info("webhook of job %s: %s; next attempt in %.1f s", job_id, what, delay)
    raise self.retry(countdown=delay)
