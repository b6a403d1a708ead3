"""Every alert selects series that exist: Lifeboat's own metrics or an exporter's.

An alert on a misspelt metric parses, returns nothing and never fires; promtool
cannot tell. The exporters' names are checked against their sources:
celery-exporter 0.11.2 (``src/exporter.py`` of ``prometheus-exporter-celery``) and
oliver006/redis_exporter (``maxmemory`` is exported as ``redis_memory_max_bytes``).
"""

from __future__ import annotations

import re

import pytest

from core.jobs import JobType
from telemetry import metrics

from .promql import alert_exprs, metric_names
from .test_promtool import ALERTS_FILE

EXPORTED = {
    "prometheus": {"up"},
    "celery-exporter": {
        "celery_worker_up",
        "celery_active_worker_count",
        "celery_queue_length",
        "celery_task_failed_total",
        "celery_task_succeeded_total",
    },
    "redis_exporter": {"redis_up", "redis_memory_used_bytes", "redis_memory_max_bytes"},
}
SUFFIXES = {  # the series prometheus_client exports for each metric type
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
}
TYPE_MATCHER = re.compile(r'\btype\s*(=~?)\s*"([^"]*)"')


def lifeboat_series() -> set[str]:
    names = set()
    for attribute in filter(str.isupper, metrics.__annotations__):
        for family in getattr(metrics, attribute).describe():
            names.update(family.name + suffix for suffix in SUFFIXES[family.type])
    return names


@pytest.mark.parametrize(("alert", "expr"), alert_exprs(ALERTS_FILE), ids=lambda v: v[:40])
def test_alert_selects_only_metrics_that_exist(alert: str, expr: str) -> None:
    known = lifeboat_series().union(*EXPORTED.values())
    names = metric_names(expr)
    assert names, f"{alert} selects no metric"
    assert names - known == set()


@pytest.mark.parametrize(("alert", "expr"), alert_exprs(ALERTS_FILE), ids=lambda v: v[:40])
def test_alert_job_type_matchers_name_real_job_types(alert: str, expr: str) -> None:
    types = [t.value for t in JobType]
    for op, value in TYPE_MATCHER.findall(expr):
        matched = [t for t in types if (re.fullmatch(value, t) if op == "=~" else t == value)]
        assert matched, f"{alert}: type{op}{value!r} matches no job type"
