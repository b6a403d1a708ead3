"""A loaded model version: scores validated instances and data frames."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from ml.dataset import coerce_features
from ml.errors import MLError
from ml.lean import LeanScorer, compile_pipeline
from ml.schema import FeatureSchema

logger = logging.getLogger(__name__)

LEAN_TOLERANCE = 1e-9  # max absolute difference accepted between lean and sklearn probabilities


class Model:
    """One installed model version.

    Scoring goes through the lean scorer (see :mod:`ml.lean`) when the pipeline
    compiles and agrees with scikit-learn on probe rows; otherwise through the
    scikit-learn pipeline itself, with a warning.
    """

    def __init__(self, version: str, card: dict[str, Any], pipeline: Any) -> None:
        self.version = version
        self.card = card
        self.schema = FeatureSchema.from_dict(card["feature_schema"])
        self.class_labels: list[str] = list(card["class_labels"])
        self.pipeline = pipeline
        n_classes = len(pipeline.classes_)
        if n_classes != len(self.class_labels):
            raise MLError(
                f"model {version} predicts {n_classes} classes, "
                f"its card names {len(self.class_labels)}"
            )
        self._numeric = [f.name for f in self.schema.features if f.kind == "numeric"]
        self._categorical = [f.name for f in self.schema.features if f.kind == "categorical"]
        self.lean: LeanScorer | None = self._compile_lean()

    def _compile_lean(self) -> LeanScorer | None:
        try:
            lean = compile_pipeline(self.pipeline)
            probes = probe_rows(self.schema)
            expected = self.pipeline.predict_proba(self.rows_to_frame(probes))
            np.testing.assert_allclose(
                lean.predict_proba_rows(probes), expected, atol=LEAN_TOLERANCE, rtol=0
            )
        except (MLError, AssertionError, ValueError, TypeError, KeyError) as exc:
            logger.warning(
                "model %s: lean scorer unavailable, using the sklearn pipeline: %s",
                self.version,
                exc,
            )
            return None
        return lean

    def rows_to_frame(self, rows: list[dict]) -> pd.DataFrame:
        """A typed DataFrame of the feature columns from cleaned instances."""
        names = self.schema.feature_names
        frame = pd.DataFrame([[row[n] for n in names] for row in rows], columns=names)
        return coerce_features(frame, self._numeric, self._categorical)

    def predict_proba_rows(self, rows: list[dict]) -> np.ndarray:
        """Class probabilities (columns in ``class_labels`` order) for cleaned instances."""
        if self.lean is not None:
            return self.lean.predict_proba_rows(rows)
        return self.pipeline.predict_proba(self.rows_to_frame(rows))

    def predict_proba_frame(self, df: pd.DataFrame) -> np.ndarray:
        """Class probabilities for a DataFrame holding (at least) the feature columns."""
        frame = coerce_features(df[self.schema.feature_names], self._numeric, self._categorical)
        if self.lean is not None:
            return self.lean.predict_proba_frame(frame)
        return self.pipeline.predict_proba(frame)

    def labels_for(self, proba: np.ndarray) -> list[str]:
        """The predicted class label of each probability row."""
        return [self.class_labels[i] for i in np.argmax(proba, axis=1)]

    def predict_rows(self, rows: list[dict]) -> list[dict]:
        """``{"prediction": label, "probabilities": {label: p}}`` per cleaned instance."""
        proba = self.predict_proba_rows(rows)
        labels = self.class_labels
        return [
            {
                "prediction": prediction,
                "probabilities": dict(zip(labels, map(float, row), strict=True)),
            }
            for prediction, row in zip(self.labels_for(proba), proba.tolist(), strict=True)
        ]


def probe_rows(schema: FeatureSchema) -> list[dict]:
    """Rows exercising every schema edge: all missing, bounds, every category, unknowns."""
    low: dict[str, object] = {}
    high: dict[str, object] = {}
    unknown: dict[str, object] = {}
    rows: list[dict] = [{name: None for name in schema.feature_names}]
    for feature in schema.features:
        if feature.kind == "numeric":
            low[feature.name] = feature.minimum if feature.minimum is not None else -1e6
            high[feature.name] = feature.maximum if feature.maximum is not None else 1e6
            unknown[feature.name] = 0.0
        else:
            categories = feature.categories or []
            low[feature.name] = categories[0] if categories else None
            high[feature.name] = categories[-1] if categories else None
            unknown[feature.name] = "\x00unknown category"
            for category in categories:
                rows.append({**{n: None for n in schema.feature_names}, feature.name: category})
    return [*rows, low, high, unknown]
