"""Accuracy without labels: the expected accuracy of calibrated probabilities (CBPE's idea).

When a classifier's probabilities are calibrated, the probability of its chosen
class is the chance that the choice is right; the mean of that probability over
a window of predictions is the accuracy to expect on it (confidence-based
performance estimation, as in NannyML's CBPE). It needs no labels, so it reacts
as soon as traffic changes, days before ground truth arrives. It is only as
good as the calibration, which training measures on the hold-out set and
records in the model card (expected calibration error, ECE): the estimate is
shown with that ECE, and is trustworthy while the ECE is small and the data
has not drifted far from the reference.

Like CBPE, the probabilities are first re-calibrated on the reference data
(binary models: isotonic regression of the label on the out-of-fold positive
probability stored in ``reference.csv``): the raw confidence of a slightly
over-confident model overstates accuracy by several points (the reference
model: 0.84 raw vs 0.80 measured on its hold-out; 0.79 once re-calibrated).
Models with more than two classes use the raw confidence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

WELL_CALIBRATED_ECE = 0.1  # a model whose hold-out ECE is above this is flagged


def expected_accuracy(probabilities: np.ndarray) -> float:
    """Mean probability of the chosen (most probable) class; rows are predictions."""
    p = np.asarray(probabilities, dtype=float)
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError("expected a non-empty (rows, classes) probability matrix")
    return float(np.nanmax(p, axis=1).mean())


class AccuracyEstimator:
    """Expected accuracy of a window of predictions, re-calibrated on the reference data."""

    def __init__(self, labels: list[str], calibrator: Any = None) -> None:
        self.labels = list(labels)
        self.calibrator = calibrator  # positive-class probability → calibrated probability

    @classmethod
    def fit(
        cls, labels: list[str], reference_proba: np.ndarray, reference_actual: list[str]
    ) -> AccuracyEstimator:
        """Fit the calibration on reference predictions (binary models; others: none)."""
        if len(labels) != 2 or len(reference_actual) == 0:
            return cls(labels)
        from sklearn.isotonic import IsotonicRegression

        truth = (np.asarray(reference_actual, dtype=object) == labels[1]).astype(float)
        positive = np.asarray(reference_proba, dtype=float)[:, 1]
        keep = ~np.isnan(positive)
        if len(set(truth[keep])) < 2:
            return cls(labels)
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(positive[keep], truth[keep])
        return cls(labels, iso)

    def estimate(self, probabilities: np.ndarray) -> float:
        """Expected accuracy of the predictions (each row's chosen class = its argmax)."""
        p = np.asarray(probabilities, dtype=float)
        if self.calibrator is None:
            return expected_accuracy(p)
        if p.ndim != 2 or p.shape[0] == 0:
            raise ValueError("expected a non-empty (rows, classes) probability matrix")
        calibrated = self.calibrator.predict(p[:, 1])
        chose_positive = p[:, 1] > p[:, 0]
        return float(np.where(chose_positive, calibrated, 1.0 - calibrated).mean())


def calibration_of(card: dict[str, Any]) -> dict[str, Any]:
    """What the model card says about calibration (measured on the hold-out set at training)."""
    cal = card.get("calibration") or {}
    ece = cal.get("expected_calibration_error")
    return {
        "expected_calibration_error": ece,
        "n_bins": cal.get("n_bins"),
        "well_calibrated": None if ece is None else bool(ece <= WELL_CALIBRATED_ECE),
    }


def estimate(
    estimator: AccuracyEstimator, probabilities: np.ndarray, card: dict[str, Any]
) -> dict[str, Any]:
    """The label-free accuracy estimate of a window, with the calibration it relies on."""
    return {
        "estimated_accuracy": estimator.estimate(probabilities),
        "raw_confidence": expected_accuracy(probabilities),
        "rows": int(np.asarray(probabilities).shape[0]),
        "recalibrated_on_reference": estimator.calibrator is not None,
        "calibration": calibration_of(card),
    }
