"""Extract the PromQL of the Grafana dashboards and of the alert rules.

Shared by the static deployment tests (tests/deploy) and by the live end-to-end
test, which sends every expression to a real Prometheus.

Grafana variables are replaced by values that make the query runnable as is
(``substitute``):

- ``$__rate_interval`` becomes ``rate_interval`` (default ``1m``: four scrapes at
  the 15 s interval; pass a larger window if the live Prometheus scrapes slower);
- the dashboard variables ``$model_version`` and ``$queue`` become ``.*``. Every
  dashboard uses them only inside regex matchers (``model_version=~"$model_version"``),
  so ``.*`` selects every value, as the "All" option does in Grafana.

An unknown variable raises ``ValueError``, so a new variable cannot slip into a
dashboard without a substitution here.

A panel needing an optional exporter carries the tag ``[needs:cadvisor]`` or
``[needs:redis_exporter]`` in its description (or a target's); ``needs`` is then
``"cadvisor"`` or ``"redis_exporter"``, else ``None``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

__all__ = [
    "DASHBOARD_VARIABLES",
    "NEEDS_TAGS",
    "alert_exprs",
    "annotation_queries",
    "dashboard_queries",
    "load_dashboards",
    "metric_names",
    "substitute",
]

DEFAULT_RATE_INTERVAL = "1m"  # four samples at the 15 s scrape interval
DASHBOARD_VARIABLES = {
    "model_version": ".*",  # every model version, like Grafana's "All"
    "queue": ".*",  # every queue, like Grafana's "All"
}
NEEDS_TAGS = ("cadvisor", "redis_exporter")

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"' + r"|'(?:[^'\\]|\\.)*'")
_MATCHERS = re.compile(r"\{[^}]*\}|\[[^\]]*\]")
_LABEL_LISTS = re.compile(
    r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)|\boffset\s+\w+"
)
_IDENTIFIER = re.compile(r"(?<![\w.])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()")
_KEYWORDS = frozenset({"and", "or", "unless", "bool", "by", "without", "on", "ignoring"})
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")
_NEEDS = re.compile(r"\[needs:(\w+)\]")


def substitute(expr: str, rate_interval: str = DEFAULT_RATE_INTERVAL) -> str:
    """Return ``expr`` with every Grafana variable replaced by a runnable value."""

    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name == "__rate_interval":
            return rate_interval
        if name in DASHBOARD_VARIABLES:
            return DASHBOARD_VARIABLES[name]
        raise ValueError(f"unknown Grafana variable ${name} in {expr!r}")

    return _VARIABLE.sub(replace, expr)


def _dashboard_files(path: str | Path) -> list[Path]:
    path = Path(path)
    return sorted(path.glob("*.json")) if path.is_dir() else [path]


def load_dashboards(path: str | Path) -> list[dict]:
    """Parse one dashboard JSON file, or every ``*.json`` of a directory."""
    return [json.loads(file.read_text(encoding="utf-8")) for file in _dashboard_files(path)]


def _panels(panels: list[dict]) -> list[dict]:
    """Flatten panels, including those nested in collapsed rows."""
    flat = []
    for panel in panels:
        flat.append(panel)
        flat.extend(_panels(panel.get("panels", [])))
    return flat


def _needs(panel: dict, target: dict) -> str | None:
    text = f"{panel.get('description', '')} {target.get('description', '')}"
    tags = _NEEDS.findall(text)
    unknown = set(tags) - set(NEEDS_TAGS)
    if unknown:
        raise ValueError(f"panel {panel.get('title')!r}: unknown needs tag(s) {sorted(unknown)}")
    return tags[0] if tags else None


def dashboard_queries(
    path: str | Path, rate_interval: str = DEFAULT_RATE_INTERVAL
) -> list[tuple[str, str, str, str | None]]:
    """Return ``(dashboard title, panel title, expr, needs)`` for every panel target.

    ``path`` is a dashboard JSON file or a directory of them; ``expr`` has its
    variables substituted (see ``substitute``). Row panels carry no query and
    are skipped.
    """
    queries = []
    for dashboard in load_dashboards(path):
        for panel in _panels(dashboard.get("panels", [])):
            if panel.get("type") == "row":
                continue
            for target in panel.get("targets", []):
                queries.append(
                    (
                        dashboard["title"],
                        panel["title"],
                        substitute(target["expr"], rate_interval),
                        _needs(panel, target),
                    )
                )
    return queries


def annotation_queries(
    path: str | Path, rate_interval: str = DEFAULT_RATE_INTERVAL
) -> list[tuple[str, str, str]]:
    """Return ``(dashboard title, annotation name, expr)`` for every Prometheus annotation,
    its variables substituted (Grafana's built-in annotations carry no query)."""
    return [
        (dashboard["title"], annotation["name"], substitute(annotation["expr"], rate_interval))
        for dashboard in load_dashboards(path)
        for annotation in dashboard.get("annotations", {}).get("list", [])
        if annotation.get("datasource", {}).get("type") == "prometheus"
    ]


def alert_exprs(path: str | Path) -> list[tuple[str, str]]:
    """Return ``(alert name, expr)`` for every alerting rule of a Prometheus rule file."""
    document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return [
        (rule["alert"], rule["expr"].strip())
        for group in document["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (label names, functions, keywords left out)."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _LABEL_LISTS.sub(" ", text)
    return {name for name in _IDENTIFIER.findall(text) if name not in _KEYWORDS}
