"""Celery tasks of model monitoring: report jobs, the scheduled drift check, accuracy gauges.

Every worker process imports the task modules at start; the monitoring code (pandas,
Evidently) is imported on a process's first monitoring task, so scoring processes never
load it.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task

from core.queue import BUILD_REPORT_TASK, CHECK_DRIFT_TASK, UPDATE_ACCURACY_TASK
from workers import beat
from workers.runtime import runtime


@shared_task(name=BUILD_REPORT_TASK, bind=True)
def build_report(self, job_id: str) -> str:
    """Build a drift or performance report job's Evidently HTML and summary."""
    from workers.monitoring import reports as monitoring_reports

    return monitoring_reports.run(runtime(), job_id, owner=self.request.id)


@shared_task(name=CHECK_DRIFT_TASK)
def check_drift() -> dict[str, Any]:
    """Scheduled by beat: drift and estimated accuracy per model version, numbers only."""
    from workers.monitoring.drift_check import check

    rt = runtime()
    done = check(rt)
    beat.ran(rt.settings, CHECK_DRIFT_TASK)
    return done


@shared_task(name=UPDATE_ACCURACY_TASK)
def update_accuracy(versions: list[str] | None = None) -> dict[str, Any]:
    """Queued by ``POST /feedback``: the measured-accuracy gauges of these versions."""
    from workers.monitoring.accuracy import update_accuracy as update

    return update(runtime(), versions)
