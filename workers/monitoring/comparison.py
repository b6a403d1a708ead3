"""Comparison report jobs: a baseline and a candidate model version on the same instances.

The job reads a window of the prediction log, keeping the predictions of the two
versions only (primary and shadow entries alike; ``last`` N counts those), and pairs
them by prediction id: a primary prediction of one version and the shadow prediction
of the other share it. Ground truth is the feedback given to the primary predictions
(of either version). The numbers come from :mod:`ml.monitoring.comparison`; the
Evidently HTML shows the drift of the candidate's outputs from the baseline's on the
paired instances.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from core.jobs import Job
from ml.monitoring import comparison
from workers.monitoring import data
from workers.monitoring.common import ReportError, check_rows, save_html, window_info
from workers.monitoring.log import gc_paused

if TYPE_CHECKING:
    from workers.runtime import Runtime

Outputs = dict[str, tuple[str, list[float]]]  # prediction id → (class, probability per label)


def build(rt: Runtime, job: Job, key: str) -> dict[str, Any]:
    """Build the comparison of ``job``, store its HTML as ``key``; returns the job's result."""
    baseline, candidate = job.params["baseline"], job.params["candidate"]
    labels = _labels(rt, baseline, candidate)
    w = job.params.get("window", {})
    sides, stamps = read_window(rt, (baseline, candidate), labels, w)
    base, cand = sides[baseline], sides[candidate]
    actual = labelled(rt, (baseline, candidate))
    base_classes, cand_classes = _classes(base), _classes(cand)
    summary = comparison.compare(base_classes, cand_classes, actual, labels)
    check_rows(rt, summary["paired"], f"predictions scored by both {baseline} and {candidate}")
    rt.store.set_progress(job.id, summary["paired"], summary["paired"])
    ids = comparison.paired_ids(base_classes, cand_classes)
    snapshot = comparison.comparison_report(
        _frame(base, ids, labels), _frame(cand, ids, labels), labels
    )
    size = save_html(rt, snapshot, key)
    return {
        "type": "comparison",
        "baseline": baseline,
        "candidate": candidate,
        "window": window_info(w, stamps, source="prediction log"),
        "summary": summary,
        "report": {"url": f"/api/v1/jobs/{job.id}/report", "bytes": size},
    }


def _labels(rt: Runtime, baseline: str, candidate: str) -> list[str]:
    labels = list(rt.registry.card(baseline)["class_labels"])
    other = list(rt.registry.card(candidate)["class_labels"])
    if labels != other:
        raise ReportError(
            f"{baseline} predicts {labels} and {candidate} {other}: not comparable class labels"
        )
    return labels


def read_window(
    rt: Runtime, versions: tuple[str, ...], labels: list[str], w: dict[str, Any]
) -> tuple[dict[str, Outputs], list[float]]:
    """Each version's outputs in the window (the newest of an id when logged twice) and the
    time of every prediction read."""
    until, since = w.get("until"), w.get("since")
    newest = f"{int(until * 1000)}" if until is not None else "+"
    oldest = f"{int(since * 1000)}" if since is not None else "-"
    want = w.get("last") or w.get("max_rows")
    sides: dict[str, Outputs] = {v: {} for v in versions}
    stamps: list[float] = []
    with gc_paused():
        for _, chunk in data.prediction_log(rt).chunks(newest=newest, oldest=oldest):
            for record in chunk:  # newest first
                side = sides.get(record.model_version)
                if side is None:
                    continue
                take = len(record) if want is None else min(len(record), want - len(stamps))
                first = len(record) - take  # an entry's newest rows are its last
                proba = [record.probabilities.get(c, []) for c in labels]
                for i in range(len(record) - 1, first - 1, -1):
                    pid = f"{record.job_id}-{record.numbers[i]}"
                    probs = [float(p[i]) if i < len(p) else float("nan") for p in proba]
                    side.setdefault(pid, (record.prediction[i], probs))
                stamps += [record.ts] * take
                if want is not None and len(stamps) >= want:
                    return sides, stamps
    return sides, stamps


def labelled(rt: Runtime, versions: tuple[str, ...]) -> dict[str, str]:
    """prediction id → actual class, from the feedback given to either version's predictions."""
    store = data.feedback_store(rt)
    limit = rt.settings.feedback_max_labelled
    return {o.prediction_id: o.actual for v in versions for o in store.labelled(v, limit)}


def _classes(outputs: Outputs) -> dict[str, str]:
    return {pid: cls for pid, (cls, _) in outputs.items()}


def _frame(outputs: Outputs, ids: list[str], labels: list[str]) -> Any:
    proba = np.array([outputs[i][1] for i in ids], dtype=float).reshape(len(ids), len(labels))
    return comparison.output_frame([outputs[i][0] for i in ids], proba, labels)
