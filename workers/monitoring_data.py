"""What monitoring reads in a worker: reference data, the prediction log, the feedback store."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from core import stores
from core.feedback import FeedbackStore
from core.prediction_log import PredictionLog
from ml.drift import ColumnTypes

if TYPE_CHECKING:
    import pandas as pd

    from workers.runtime import Runtime

_lock = threading.Lock()
_references: dict[tuple[str, str], Any] = {}
_estimators: dict[tuple[str, int], Any] = {}


def column_types(rt: Runtime, version: str) -> ColumnTypes:
    return ColumnTypes.from_schema(rt.registry.schema(version))


def reference_frame(rt: Runtime, version: str) -> pd.DataFrame:
    """The version's reference data (sha256-checked), features typed; read once per process."""
    import pandas as pd

    from ml.dataset import coerce_features

    path = rt.registry.reference_path(version)  # verifies the file against the card
    key = (str(path), rt.registry.card(version)["artifacts"]["reference.csv"])
    frame = _references.get(key)
    if frame is None:
        types = column_types(rt, version)
        raw = pd.read_csv(path, keep_default_na=False, na_values=[""])
        frame = coerce_features(raw, types.numerical, types.categorical)
        with _lock:
            _references[key] = frame
    return frame


def accuracy_estimator(rt: Runtime, version: str) -> Any:
    """The label-free accuracy estimator of a version, calibrated on its reference data."""
    import numpy as np

    from ml.estimation import AccuracyEstimator

    reference = reference_frame(rt, version)
    key = (version, id(reference))
    estimator = _estimators.get(key)
    if estimator is None:
        card = rt.registry.card(version)
        labels = list(card["class_labels"])
        target = card.get("target", "target")
        columns = [f"proba_{c}" for c in labels]
        if target in reference and all(c in reference for c in columns):
            proba = np.column_stack([reference[c].to_numpy(dtype=float) for c in columns])
            estimator = AccuracyEstimator.fit(labels, proba, reference[target].astype(str).tolist())
        else:
            estimator = AccuracyEstimator(labels)
        with _lock:
            _estimators[key] = estimator
    return estimator


def prediction_log(rt: Runtime) -> PredictionLog:
    return stores.prediction_log(rt.settings, rt.redis)


def feedback_store(rt: Runtime) -> FeedbackStore:
    return stores.feedback_store(rt.settings, rt.redis)
