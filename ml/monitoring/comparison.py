"""Two model versions compared on the same instances: agreement, accuracy, class shares.

The instances are those both versions scored: a primary prediction and its shadow (or
any two predictions with the same prediction id). Each version is given as a mapping
of prediction id → predicted class; ground truth as prediction id → actual class.
Rates come with a Wilson score interval (scipy's ``binomtest``), which stays inside
[0, 1] and is honest for small counts and rates near 0 or 1, unlike the normal
approximation. :func:`comparison_report` runs Evidently over the two versions' outputs.
Pure numpy/pandas/scipy; Evidently is imported inside the function using it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from ml.batch.columns import PROBA_PREFIX

CONFIDENCE_LEVEL = 0.95  # of every interval in a comparison
PREDICTION = "prediction"  # column name of the frames given to Evidently (and proba_<label>)


@dataclass(frozen=True)
class Rate:
    """``hits`` out of ``n``, with its Wilson score interval (None when ``n`` is 0)."""

    hits: int
    n: int
    rate: float | None
    interval: tuple[float, float] | None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["interval"] = list(self.interval) if self.interval is not None else None
        return out


def wilson(hits: int, n: int, confidence: float = CONFIDENCE_LEVEL) -> Rate:
    """The rate ``hits / n`` and its Wilson score interval at ``confidence``."""
    if n == 0:
        return Rate(0, 0, None, None)
    from scipy.stats import binomtest

    ci = binomtest(hits, n).proportion_ci(confidence_level=confidence, method="wilson")
    return Rate(hits, n, hits / n, (float(ci.low), float(ci.high)))


def paired_ids(baseline: Mapping[str, str], candidate: Mapping[str, str]) -> list[str]:
    """The prediction ids both versions scored, in the baseline's order."""
    return [i for i in baseline if i in candidate]


def agreement(
    baseline: Mapping[str, str], candidate: Mapping[str, str], ids: Sequence[str]
) -> dict[str, Any]:
    """How often the two versions predict the same class on ``ids``, and where they differ."""
    agreed = sum(baseline[i] == candidate[i] for i in ids)
    changes = Counter((baseline[i], candidate[i]) for i in ids if baseline[i] != candidate[i])
    return {
        **wilson(agreed, len(ids)).to_dict(),
        "disagreements": [
            {"baseline": b, "candidate": c, "count": n} for (b, c), n in changes.most_common()
        ],
    }


def accuracy(
    baseline: Mapping[str, str],
    candidate: Mapping[str, str],
    actual: Mapping[str, str],
    ids: Sequence[str],
) -> dict[str, Any]:
    """Each version's accuracy on the paired ids that have ground truth, and the difference."""
    labelled = [i for i in ids if i in actual]
    base = wilson(sum(baseline[i] == actual[i] for i in labelled), len(labelled))
    cand = wilson(sum(candidate[i] == actual[i] for i in labelled), len(labelled))
    difference = None
    if base.rate is not None and cand.rate is not None:
        difference = cand.rate - base.rate
    return {
        "labelled": len(labelled),
        "baseline": base.to_dict(),
        "candidate": cand.to_dict(),
        "difference": difference,
    }


def class_shares(predicted: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
    """The share of each class label among ``predicted`` (0 for a label never predicted)."""
    counts = Counter(predicted)
    n = len(predicted)
    return {label: (counts[label] / n if n else 0.0) for label in labels}


def shares(
    baseline: Mapping[str, str],
    candidate: Mapping[str, str],
    ids: Sequence[str],
    labels: Sequence[str],
) -> dict[str, dict[str, float]]:
    """Class shares of each version on ``ids`` and the candidate's minus the baseline's."""
    base = class_shares([baseline[i] for i in ids], labels)
    cand = class_shares([candidate[i] for i in ids], labels)
    return {
        "baseline": base,
        "candidate": cand,
        "difference": {label: cand[label] - base[label] for label in labels},
    }


def compare(
    baseline: Mapping[str, str],
    candidate: Mapping[str, str],
    actual: Mapping[str, str],
    labels: Sequence[str],
) -> dict[str, Any]:
    """The comparison's JSON summary (see the module's doc)."""
    ids = paired_ids(baseline, candidate)
    return {
        "paired": len(ids),
        "unpaired": {"baseline": len(baseline) - len(ids), "candidate": len(candidate) - len(ids)},
        "confidence_level": CONFIDENCE_LEVEL,
        "agreement": agreement(baseline, candidate, ids),
        "accuracy": accuracy(baseline, candidate, actual, ids),
        "class_shares": shares(baseline, candidate, ids, labels),
    }


def output_frame(
    predicted: Sequence[str], probabilities: np.ndarray, labels: Sequence[str]
) -> pd.DataFrame:
    """A version's outputs as Evidently reads them: its class and one probability per label."""
    frame = pd.DataFrame({PREDICTION: pd.Series(list(predicted), dtype=object)})
    for k, label in enumerate(labels):
        frame[f"{PROBA_PREFIX}{label}"] = np.asarray(probabilities, dtype=float)[:, k]
    return frame


def comparison_report(
    baseline: pd.DataFrame, candidate: pd.DataFrame, labels: Sequence[str]
) -> Any:
    """Evidently's drift of the candidate's outputs (current) from the baseline's (reference)
    on the same instances: the predicted class and each class's probability."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    probas = [f"{PROBA_PREFIX}{label}" for label in labels]
    definition = DataDefinition(numerical_columns=probas, categorical_columns=[PREDICTION])
    columns = [PREDICTION, *probas]
    return Report([ValueDrift(column=c) for c in columns], include_tests=True).run(
        Dataset.from_pandas(candidate[columns], data_definition=definition),
        Dataset.from_pandas(baseline[columns], data_definition=definition),
    )
