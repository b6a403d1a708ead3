"""Thin Celery tasks of the traffic policy."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from core.queue import CHECK_GUARD_TASK
from workers import beat
from workers.deployment import guard
from workers.runtime import runtime


@shared_task(name=CHECK_GUARD_TASK)
def check_guard() -> dict[str, Any]:
    """Scheduled by beat: end the canary if it fails past its guard."""
    rt = runtime()
    found = guard.check(rt)
    beat.ran(rt.settings, CHECK_GUARD_TASK)
    return found
