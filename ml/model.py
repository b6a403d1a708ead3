"""A loaded model version: scores validated instances and data frames.

Importing this module needs numpy only. A model version loaded from its lean
artifact (:mod:`ml.lean.artifact`) scores without scikit-learn, scipy or pandas;
its scikit-learn pipeline is loaded on first use of :attr:`Model.pipeline`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ml.errors import MLError
from ml.lean.scorer import LeanScorer
from ml.schema import FeatureSchema

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)


class Model:
    """One installed model version.

    Scoring goes through the lean scorer (see :mod:`ml.lean.scorer`): either given
    (loaded from the version's lean artifact), or compiled from ``pipeline`` and
    checked against it on probe rows. Without one, through the scikit-learn
    pipeline itself, with a warning. ``pipeline_loader`` loads the pipeline when
    it is first asked for (reports, comparisons), so a lean model never imports
    scikit-learn unless something needs the pipeline.
    """

    def __init__(
        self,
        version: str,
        card: dict[str, Any],
        pipeline: Any = None,
        *,
        lean: LeanScorer | None = None,
        pipeline_loader: Callable[[], Any] | None = None,
    ) -> None:
        self.version = version
        self.card = card
        self.schema = FeatureSchema.from_dict(card["feature_schema"])
        self.class_labels: list[str] = list(card["class_labels"])
        self._pipeline = pipeline
        self._pipeline_loader = pipeline_loader
        self._pipeline_lock = threading.Lock()
        self._numeric = [f.name for f in self.schema.features if f.kind == "numeric"]
        self._categorical = [f.name for f in self.schema.features if f.kind == "categorical"]
        if lean is None and pipeline is None:
            raise MLError(f"model {version}: neither a lean scorer nor a pipeline")
        if lean is None:
            lean = self._compile_lean(pipeline)
        self.lean: LeanScorer | None = lean
        n_classes = len(lean.classes) if lean is not None else len(pipeline.classes_)
        if n_classes != len(self.class_labels):
            raise MLError(
                f"model {version} predicts {n_classes} classes, "
                f"its card names {len(self.class_labels)}"
            )
        if lean is not None:
            unknown = {c for b in lean.blocks for c in b.columns} - set(self.schema.feature_names)
            if unknown:
                raise MLError(f"model {version} scores columns its schema lacks: {unknown}")

    def _compile_lean(self, pipeline: Any) -> LeanScorer | None:
        from ml.lean.compile import check_agreement, compile_pipeline

        try:
            lean = compile_pipeline(pipeline)
            check_agreement(lean, pipeline, self.schema)
        except (MLError, ValueError, TypeError, KeyError) as exc:
            log.warning(
                "model %s: lean scorer unavailable, using the sklearn pipeline: %s",
                self.version,
                exc,
            )
            return None
        return lean

    @property
    def pipeline(self) -> Any:
        """The fitted scikit-learn pipeline (loaded, with scikit-learn, on first use)."""
        if self._pipeline is None:
            with self._pipeline_lock:
                if self._pipeline is None:
                    if self._pipeline_loader is None:
                        raise MLError(f"model {self.version}: no pipeline to load")
                    self._pipeline = self._pipeline_loader()
                    log.info("model %s: scikit-learn pipeline loaded", self.version)
        return self._pipeline

    def rows_to_frame(self, rows: list[dict]) -> pd.DataFrame:
        """A typed DataFrame of the feature columns from cleaned instances."""
        import pandas as pd

        from ml.data.loading import coerce_features

        names = self.schema.feature_names
        frame = pd.DataFrame([[row[n] for n in names] for row in rows], columns=names)
        return coerce_features(frame, self._numeric, self._categorical)

    def predict_proba_rows(self, rows: list[dict]) -> np.ndarray:
        """Class probabilities (columns in ``class_labels`` order) for cleaned instances."""
        if self.lean is not None:
            return self.lean.predict_proba_rows(rows)
        return self.pipeline.predict_proba(self.rows_to_frame(rows))

    def predict_proba_columns(self, columns: Mapping[str, list], n_rows: int) -> np.ndarray:
        """Class probabilities for cleaned instances given as columns (feature → values)."""
        if self.lean is not None:
            return self.lean.predict_proba_matrix(self.lean.transform(columns.__getitem__, n_rows))
        import pandas as pd

        from ml.data.loading import coerce_features

        names = self.schema.feature_names
        frame = pd.DataFrame({n: columns[n] for n in names}, columns=names)
        return self.pipeline.predict_proba(coerce_features(frame, self._numeric, self._categorical))

    def predict_proba_frame(self, df: pd.DataFrame) -> np.ndarray:
        """Class probabilities for a DataFrame holding (at least) the feature columns."""
        from ml.data.loading import coerce_features

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
