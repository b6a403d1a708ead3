"""Held-out metrics and calibration of a binary classifier."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, brier_score_loss, f1_score, log_loss, roc_auc_score

CALIBRATION_BINS = 10  # equal-width probability bins of the reliability diagram


def holdout_metrics(y_true: np.ndarray, positive_proba: np.ndarray) -> dict[str, float]:
    """Accuracy, ROC AUC, F1, log loss and Brier score; ``y_true`` holds 0/1."""
    y_pred = (positive_proba >= 0.5).astype(int)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "roc_auc": float(roc_auc_score(y_true, positive_proba)),
        "f1": float(f1_score(y_true, y_pred)),
        "log_loss": float(log_loss(y_true, positive_proba, labels=[0, 1])),
        "brier": float(brier_score_loss(y_true, positive_proba)),
    }


def calibration_report(
    y_true: np.ndarray, positive_proba: np.ndarray, n_bins: int = CALIBRATION_BINS
) -> dict:
    """Expected calibration error and reliability bins over equal-width probability bins.

    ECE is the count-weighted mean of ``|observed rate - mean predicted|`` over
    non-empty bins; each bin reports its bounds, count, mean predicted
    probability and observed positive rate (``None`` when empty).
    """
    y = np.asarray(y_true, dtype=float)
    p = np.asarray(positive_proba, dtype=float)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.digitize(p, edges[1:-1], right=False), 0, n_bins - 1)
    bins = []
    ece = 0.0
    for b in range(n_bins):
        mask = index == b
        count = int(mask.sum())
        mean_predicted = float(p[mask].mean()) if count else None
        observed_rate = float(y[mask].mean()) if count else None
        if count:
            ece += count / len(p) * abs(observed_rate - mean_predicted)
        bins.append(
            {
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "count": count,
                "mean_predicted": mean_predicted,
                "observed_rate": observed_rate,
            }
        )
    return {"n_bins": n_bins, "expected_calibration_error": float(ece), "bins": bins}
