"""promtool checks of the Prometheus config, the alert rules and their unit tests.

promtool comes with Debian's ``prometheus`` package. Without it these tests are
skipped locally and fail in CI (CI=true), where .ci/run must install it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from .promql import alert_exprs, annotation_queries, dashboard_queries

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "prometheus"
ALERTS_FILE = PROMETHEUS_DIR / "alerts.yml"
RULE_TEST_FILES = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))
DASHBOARD_DIR = ROOT / "grafana" / "dashboards"
PROMTOOL_TIMEOUT = 120  # seconds; the unit tests take about one


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("promtool is missing: install Debian's prometheus package")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return path


def run(promtool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=PROMTOOL_TIMEOUT,
        check=False,
    )


def rules() -> list[dict]:
    document = yaml.safe_load(ALERTS_FILE.read_text(encoding="utf-8"))
    return [rule for group in document["groups"] for rule in group["rules"]]


def alert_rule_tests() -> list[dict]:
    return [
        case
        for path in RULE_TEST_FILES
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]
        for case in test.get("alert_rule_test", [])
    ]


SECRET_FILE = "/run/secrets/metrics_api_token"  # the compose secret the web's job reads


def test_prometheus_config_is_valid(promtool, tmp_path):
    """promtool checks the files a config names exist: the compose secret is only there in
    the container, so a copy names a stand-in for it (alerts.yml beside it, as mounted)."""
    text = (ROOT / "prometheus" / "prometheus.yml").read_text(encoding="utf-8")
    assert f"credentials_file: {SECRET_FILE}" in text
    secret = tmp_path / "metrics_api_token"
    secret.write_text("lb_stand_in")
    shutil.copy(ROOT / "prometheus" / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(text.replace(SECRET_FILE, str(secret)))
    result = run(promtool, "check", "config", tmp_path / "prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rules_are_valid(promtool):
    result = run(promtool, "check", "rules", "prometheus/alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_rule_unit_tests_pass(promtool):
    assert RULE_TEST_FILES
    result = run(promtool, "test", "rules", *(p.relative_to(ROOT) for p in RULE_TEST_FILES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_dashboard_query_is_valid_promql(promtool, tmp_path):
    queries = dashboard_queries(DASHBOARD_DIR)
    rule_file = tmp_path / "dashboard_queries.yml"
    rule_file.write_text(
        yaml.safe_dump(
            {
                "groups": [
                    {
                        "name": "dashboard-queries",
                        "rules": [
                            {"record": f"dashboard:query:{index}", "expr": expr}
                            for index, (_, _, expr, _) in enumerate(queries)
                        ],
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    result = run(promtool, "check", "rules", rule_file)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(queries)} rules found" in result.stdout


@pytest.mark.parametrize("alert", [name for name, _ in alert_exprs(ALERTS_FILE)])
def test_alert_has_a_firing_and_a_silent_unit_test(alert):
    cases = [case for case in alert_rule_tests() if case["alertname"] == alert]
    assert any(case.get("exp_alerts") for case in cases), f"{alert} never fires in a test"
    assert any(not case.get("exp_alerts") for case in cases), f"{alert} is never silent"


@pytest.mark.parametrize("rule", [r for r in rules() if "alert" in r], ids=lambda r: r["alert"])
def test_alert_waits_has_a_severity_and_explains_itself(rule):
    assert rule.get("for"), "without `for`, one bad scrape pages someone"
    assert rule["labels"]["severity"] in {"critical", "warning", "info"}
    assert rule["annotations"]["summary"]
    assert rule["annotations"]["description"]


def test_every_annotation_query_is_valid_promql(promtool, tmp_path):
    queries = annotation_queries(DASHBOARD_DIR)
    assert queries
    rule_file = tmp_path / "annotation_queries.yml"
    rules = [{"record": f"annotation:query:{i}", "expr": q[2]} for i, q in enumerate(queries)]
    rule_file.write_text(
        yaml.safe_dump({"groups": [{"name": "annotation-queries", "rules": rules}]}),
        encoding="utf-8",
    )
    result = run(promtool, "check", "rules", rule_file)
    assert result.returncode == 0, result.stdout + result.stderr
