"""What monitoring reads in a worker: reference data, the prediction log, the feedback store."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core import stores
from core.feedback import FeedbackStore
from core.prediction_log import PredictionLog
from ml.batch.columns import PROBA_PREFIX
from ml.data.loading import coerce_features
from ml.monitoring.drift import ColumnTypes
from ml.monitoring.estimation import AccuracyEstimator

if TYPE_CHECKING:
    from workers.runtime import Runtime


def column_types(rt: Runtime, version: str) -> ColumnTypes:
    return ColumnTypes.from_schema(rt.registry.schema(version))


def reference_frame(rt: Runtime, version: str) -> pd.DataFrame:
    """The version's reference data (sha256-checked), features typed; read once per process."""
    path = rt.registry.reference_path(version)  # verifies the file against the card
    key = ("reference", str(path), rt.registry.card(version)["artifacts"]["reference.csv"])

    def read() -> pd.DataFrame:
        types = column_types(rt, version)
        raw = pd.read_csv(path, keep_default_na=False, na_values=[""])
        return coerce_features(raw, types.numerical, types.categorical)

    return rt.memo(key, read)


def accuracy_estimator(rt: Runtime, version: str) -> Any:
    """The label-free accuracy estimator of a version, calibrated on its reference data."""
    reference = reference_frame(rt, version)

    def fit() -> AccuracyEstimator:
        card = rt.registry.card(version)
        labels = list(card["class_labels"])
        target = card.get("target", "target")
        columns = [f"{PROBA_PREFIX}{c}" for c in labels]
        if target in reference and all(c in reference for c in columns):
            proba = np.column_stack([reference[c].to_numpy(dtype=float) for c in columns])
            return AccuracyEstimator.fit(labels, proba, reference[target].astype(str).tolist())
        return AccuracyEstimator(labels)

    return rt.memo(("estimator", version, id(reference)), fit)


def prediction_log(rt: Runtime) -> PredictionLog:
    return stores.prediction_log(rt.settings, rt.redis)


def feedback_store(rt: Runtime) -> FeedbackStore:
    return stores.feedback_store(rt.settings, rt.redis)
