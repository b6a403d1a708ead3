"""Static checks of the provisioned Grafana dashboards and of the PromQL helper."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .promql import (
    alert_exprs,
    annotation_queries,
    dashboard_queries,
    load_dashboards,
    substitute,
)

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD_DIR = ROOT / "grafana" / "dashboards"
ALERTS_FILE = ROOT / "prometheus" / "alerts.yml"
DASHBOARD_FILES = sorted(DASHBOARD_DIR.glob("*.json"))
DATASOURCE_UID = "prometheus"

EXPECTED_TITLES = {
    "Lifeboat Overview",
    "Lifeboat API",
    "Lifeboat Task Queue",
    "Lifeboat Model and Drift",
    "Lifeboat Containers",
    "Lifeboat Deployments",
}
REQUIRED_VARIABLES = {
    "Lifeboat Model and Drift": {"model_version"},
    "Lifeboat Task Queue": {"queue"},
    "Lifeboat Deployments": {"model_version"},
}
VARIABLE_QUERIES = {
    "model_version": "label_values(ml_predictions_total, model_version)",
    # celery-exporter labels its queue metrics with queue_name
    "queue": "label_values(celery_queue_length, queue_name)",
}
# The metrics telemetry/metrics.py defines: dashboards and alerts query these (or exporters').
LIFEBOAT_METRICS = {
    "ml_predictions_total",
    "ml_prediction_errors_total",
    "ml_data_drift_detected_total",
    "lifeboat_http_requests_total",
    "lifeboat_jobs_submitted_total",
    "lifeboat_jobs_finished_total",
    "lifeboat_batch_rows_total",
    "ml_prediction_latency_seconds",
    "ml_prediction_confidence",
    "lifeboat_http_request_duration_seconds",
    "lifeboat_job_turnaround_seconds",
    "lifeboat_microbatch_jobs",
    "ml_data_drift_score",
    "ml_feature_drift_score",
    "ml_model_accuracy",
    "ml_model_estimated_accuracy",
    "lifeboat_prediction_log_length",
    "lifeboat_worker_thread_limit",
    "lifeboat_jobs_in_progress",
    "lifeboat_beat_task_last_run_timestamp_seconds",
    "lifeboat_beat_task_interval_seconds",
    "lifeboat_deployment_guard_rollbacks_total",
    "lifeboat_queue_backlog_messages_per_worker",
    "lifeboat_queue_oldest_message_age_seconds",
    "lifeboat_queue_workers",
    "lifeboat_deployment_changes_total",
}
# Exported by prometheus-exporter-celery 0.11 (src/exporter.py) and flower 2.2 (events.py).
EXPORTER_METRICS = {
    "celery_queue_length",
    "celery_active_worker_count",
    "celery_active_process_count",
    "celery_active_consumer_count",
    "celery_worker_up",
    "celery_worker_tasks_active",
    "celery_task_runtime",
    *(
        f"celery_task_{event}_total"
        for event in (
            "sent",
            "received",
            "started",
            "succeeded",
            "failed",
            "rejected",
            "revoked",
            "retried",
        )
    ),
    "flower_events_total",
    "flower_task_runtime_seconds",
    "flower_task_prefetch_time_seconds",
    "flower_worker_prefetched_tasks",
    "flower_worker_online",
    "flower_worker_number_of_currently_executing_tasks",
}
OPTIONAL_EXPORTER_PREFIXES = {"container_": "cadvisor", "redis_": "redis_exporter"}
# a metric name, not the prefix of a {__name__=~"celery_task_(a|b)_total"} regex
METRIC_NAME = re.compile(r"\b((?:ml|lifeboat|celery|flower)_[a-z_]+)\b(?!\()")
HISTOGRAM_SUFFIX = re.compile(r"_(bucket|sum|count)$")
RATE_WINDOW = re.compile(r"\b(?:i?rate)\s*\([^\[]*\[([^\]]+)\]")
VARIABLE = re.compile(r"\$\{?(\w+)")


def panels(dashboard: dict) -> list[dict]:
    flat = []
    for panel in dashboard["panels"]:
        flat.append(panel)
        flat.extend(panel.get("panels", []))
    return [panel for panel in flat if panel.get("type") != "row"]


def all_panels() -> list[tuple[str, dict]]:
    return [
        (dashboard["title"], panel)
        for dashboard in load_dashboards(DASHBOARD_DIR)
        for panel in panels(dashboard)
    ]


PANELS = all_panels()
PANEL_IDS = [f"{title}: {panel['title']}" for title, panel in PANELS]


def variables(dashboard: dict) -> dict[str, dict]:
    return {variable["name"]: variable for variable in dashboard["templating"]["list"]}


def test_the_six_dashboards_are_provisioned():
    assert {dashboard["title"] for dashboard in load_dashboards(DASHBOARD_DIR)} == EXPECTED_TITLES


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda path: path.name)
def test_dashboard_file_is_valid_json_with_a_uid(path):
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dashboard["uid"])
    assert dashboard["panels"]


def test_dashboard_uids_are_unique():
    uids = [dashboard["uid"] for dashboard in load_dashboards(DASHBOARD_DIR)]
    assert len(uids) == len(set(uids))


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda path: path.name)
def test_panel_ids_are_unique_within_a_dashboard(path):
    ids = [panel["id"] for panel in panels(json.loads(path.read_text(encoding="utf-8")))]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda path: path.name)
def test_panels_do_not_overlap(path):
    boxes = [
        (panel["title"], panel["gridPos"])
        for panel in panels(json.loads(path.read_text(encoding="utf-8")))
    ]
    overlapping = [
        (a, b)
        for i, (a, pa) in enumerate(boxes)
        for b, pb in boxes[i + 1 :]
        if pa["x"] < pb["x"] + pb["w"]
        and pb["x"] < pa["x"] + pa["w"]
        and pa["y"] < pb["y"] + pb["h"]
        and pb["y"] < pa["y"] + pa["h"]
    ]
    assert not overlapping
    assert all(box["x"] + box["w"] <= 24 for _, box in boxes)


@pytest.mark.parametrize(("dashboard", "panel"), PANELS, ids=PANEL_IDS)
def test_panel_has_a_query_and_a_readable_legend_for_every_target(dashboard, panel):
    assert panel["targets"], f"{dashboard}: {panel['title']} has no query"
    for target in panel["targets"]:
        assert target["expr"].strip()
        assert target["refId"]
        legend = target.get("legendFormat", "")
        assert legend, "legends must be written for people"
        assert legend != "__auto", "legends must be written for people"


@pytest.mark.parametrize(("dashboard", "panel"), PANELS, ids=PANEL_IDS)
def test_panel_sets_a_unit(dashboard, panel):
    assert panel["fieldConfig"]["defaults"].get("unit")


@pytest.mark.parametrize(("dashboard", "panel"), PANELS, ids=PANEL_IDS)
def test_panel_and_its_targets_use_the_provisioned_datasource(dashboard, panel):
    assert panel["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}
    for target in panel["targets"]:
        assert target["datasource"] == {"type": "prometheus", "uid": DATASOURCE_UID}


@pytest.mark.parametrize(("dashboard", "panel"), PANELS, ids=PANEL_IDS)
def test_panel_has_an_english_title_and_a_description(dashboard, panel):
    assert re.fullmatch(r"[A-Z0-9][A-Za-z0-9 ,()/.%:'&+-]*", panel["title"]), panel["title"]
    assert panel["title"].isascii()
    assert panel.get("description", "").isascii()
    assert len(panel.get("description", "")) > 20


def test_dashboard_titles_are_english():
    for dashboard in load_dashboards(DASHBOARD_DIR):
        assert re.fullmatch(r"Lifeboat [A-Z][A-Za-z ]+", dashboard["title"])
        assert dashboard["description"].isascii()


@pytest.mark.parametrize("title", sorted(REQUIRED_VARIABLES))
def test_dashboard_defines_its_required_variables(title):
    dashboard = next(d for d in load_dashboards(DASHBOARD_DIR) if d["title"] == title)
    defined = variables(dashboard)
    for name in REQUIRED_VARIABLES[title]:
        variable = defined[name]
        assert variable["definition"] == VARIABLE_QUERIES[name]
        assert variable["datasource"]["uid"] == DATASOURCE_UID
        assert variable["includeAll"]
        assert variable["allValue"] == ".*"


@pytest.mark.parametrize("path", DASHBOARD_FILES, ids=lambda path: path.name)
def test_every_variable_a_query_uses_is_defined_in_its_dashboard(path):
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    used = {
        name
        for panel in panels(dashboard)
        for target in panel["targets"]
        for name in VARIABLE.findall(target["expr"])
        if not name.startswith("__")
    }
    assert used <= set(variables(dashboard))


@pytest.mark.parametrize(("dashboard", "panel"), PANELS, ids=PANEL_IDS)
def test_dashboard_variables_only_appear_in_regex_matchers(dashboard, panel):
    for target in panel["targets"]:
        for match in re.finditer(r"\$\{?(model_version|queue)\b", target["expr"]):
            assert target["expr"][: match.start()].endswith('=~"'), target["expr"]


@pytest.mark.parametrize(("dashboard", "panel"), PANELS, ids=PANEL_IDS)
def test_rate_windows_are_the_rate_interval_or_one_minute(dashboard, panel):
    for target in panel["targets"]:
        for window in RATE_WINDOW.findall(target["expr"]):
            assert window in {"$__rate_interval", "1m"}, target["expr"]


@pytest.mark.parametrize(("dashboard", "panel"), PANELS, ids=PANEL_IDS)
def test_panels_querying_an_optional_exporter_are_tagged_as_needing_it(dashboard, panel):
    exprs = " ".join(target["expr"] for target in panel["targets"])
    needed = {
        tag
        for prefix, tag in OPTIONAL_EXPORTER_PREFIXES.items()
        if re.search(rf"\b{prefix}[a-z_]+", exprs)
    }
    tagged = set(re.findall(r"\[needs:(\w+)\]", panel.get("description", "")))
    assert needed == tagged


def test_every_queried_metric_is_one_the_platform_or_its_exporters_export():
    exprs = [expr for *_, expr, _ in dashboard_queries(DASHBOARD_DIR)]
    exprs += [expr for *_, expr in annotation_queries(DASHBOARD_DIR)]
    exprs += [expr for _, expr in alert_exprs(ALERTS_FILE)]
    names = {
        HISTOGRAM_SUFFIX.sub("", name) if name not in EXPORTER_METRICS else name
        for expr in exprs
        for name in METRIC_NAME.findall(expr)
    }
    known = LIFEBOAT_METRICS | EXPORTER_METRICS
    assert names <= known, f"unknown metrics: {sorted(names - known)}"


def test_dashboard_queries_yields_every_target_with_variables_substituted():
    queries = dashboard_queries(DASHBOARD_DIR)
    assert len(queries) == sum(len(panel["targets"]) for _, panel in PANELS)
    assert not [expr for *_, expr, _ in queries if "$" in expr]
    needs = {need for *_, need in queries}
    assert needs == {None, "cadvisor", "redis_exporter"}


def test_substitute_replaces_the_rate_interval_and_dashboard_variables():
    expr = 'sum(rate(celery_task_failed_total{queue_name=~"$queue"}[$__rate_interval]))'
    assert substitute(expr) == 'sum(rate(celery_task_failed_total{queue_name=~".*"}[1m]))'
    assert substitute('x{model_version=~"${model_version}"}[$__rate_interval]', "2m") == (
        'x{model_version=~".*"}[2m]'
    )


def test_substitute_refuses_an_unknown_variable():
    with pytest.raises(ValueError, match="instance"):
        substitute('up{instance=~"$instance"}')


def test_alert_exprs_yields_every_alert_rule():
    alerts = alert_exprs(ALERTS_FILE)
    assert len(alerts) == ALERTS_FILE.read_text(encoding="utf-8").count("- alert: ")
    assert all(expr for _, expr in alerts)


def test_the_deployments_dashboard_marks_traffic_policy_changes_with_an_annotation():
    found = [
        (name, expr)
        for title, name, expr in annotation_queries(DASHBOARD_DIR)
        if title == "Lifeboat Deployments"
    ]
    assert found == [
        (
            "Traffic policy changes",
            "sum by (action) (increase(lifeboat_deployment_changes_total[1m])) > 0",
        )
    ]


def test_every_panel_of_the_deployments_dashboard_is_per_model_version():
    dashboard = next(
        d for d in load_dashboards(DASHBOARD_DIR) if d["title"] == "Lifeboat Deployments"
    )
    for panel in panels(dashboard):
        for target in panel["targets"]:
            if "lifeboat_deployment_changes_total" in target["expr"]:
                continue  # the changes themselves belong to no version
            assert (
                "by (model_version" in target["expr"] or "by (le, model_version" in target["expr"]
            )
            assert target["legendFormat"].startswith("{{model_version}}")
