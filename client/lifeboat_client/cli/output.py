"""What the commands print on stdout: rich tables for people, JSON with ``--json``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from lifeboat_client.models import ApiKey, Job, ModelSummary

WIDTH_OFF_TERMINAL = 250  # characters: a pipe or a file gets whole ids, never folded columns
console = Console(soft_wrap=True)
if not console.is_terminal:
    console = Console(soft_wrap=True, width=WIDTH_OFF_TERMINAL)


def emit_json(value: Any) -> None:
    """One JSON document on stdout (``print``, not rich: scripts parse it)."""
    print(json.dumps(value, indent=2, default=str))


def table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c, overflow="fold")  # ids stay whole, over two lines if need be
    for row in rows:
        t.add_row(*("" if v is None else str(v) for v in row))
    console.print(t)


def predictions(job: Job) -> None:
    preds = job.predictions
    labels = list(preds[0].probabilities) if preds else []
    rows = (
        [p.id, p.prediction, *(f"{p.probabilities[c]:.3f}" for c in labels), p.prediction_id]
        for p in preds
    )
    cols = ["id", "prediction", *(f"p({c})" for c in labels), "prediction_id"]
    table(f"job {job.id} ({job.model_version})", cols, rows)


def jobs(items: Sequence[Job]) -> None:
    rows = (
        [
            j.id,
            j.type,
            j.status,
            j.created_at.isoformat(timespec="seconds") if j.created_at else "",
            f"{j.progress.done}/{j.progress.total}",
            j.model_version,
        ]
        for j in items
    )
    table(None, ["id", "type", "status", "created", "progress", "model"], rows)


def job(j: Job) -> None:
    rows = [
        ["id", j.id],
        ["type", j.type],
        ["status", j.status],
        ["model version", j.model_version],
        ["created", j.created_at],
        ["finished", j.finished_at],
        ["progress", f"{j.progress.done}/{j.progress.total}"],
    ]
    if j.error:
        rows.append(["error", j.error.get("detail", j.error)])
    table(None, ["field", "value"], rows)
    if j.type == "prediction" and j.succeeded:
        predictions(j)
    elif isinstance(j.result, dict) and j.result:
        console.print_json(json.dumps(j.result, default=str))


def models(items: Sequence[ModelSummary]) -> None:
    rows = (
        [
            m.version,
            "yes" if m.default else "",
            m.created_at,
            m.estimator,
            _metric(m.holdout_metrics, "accuracy"),
            _metric(m.holdout_metrics, "roc_auc"),
        ]
        for m in items
    )
    table(None, ["version", "default", "created", "estimator", "accuracy", "roc_auc"], rows)


def _metric(metrics: dict[str, Any] | None, name: str) -> str:
    value = (metrics or {}).get(name)
    return f"{value:.3f}" if isinstance(value, (int, float)) else ""


def keys(items: Sequence[ApiKey]) -> None:
    rows = (
        [k.id, k.name, k.tenant, ",".join(k.scopes), "yes" if k.revoked else "", k.expires_at]
        for k in items
    )
    table(None, ["id", "name", "tenant", "scopes", "revoked", "expires"], rows)
