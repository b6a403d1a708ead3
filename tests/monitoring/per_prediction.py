"""The per-prediction log of before one entry per job, as a reference to compare against.

The prediction log used to hold one entry per prediction; these build the monitoring
columns and the features frame from such entries, the way production code did, so
tests can check that the columnar path gives the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from core.prediction_log import LogEntry
from workers.monitoring.columns import Layout, LogColumns, _code, _number


def columns_from_entries(
    entries: Sequence[LogEntry], layout: Layout, newest_id: str | None = None
) -> LogColumns:
    """Columns of log entries (oldest first)."""
    n = len(entries)
    versions: dict[str, int] = {}
    version_codes = np.fromiter(
        (versions.setdefault(e.model_version, len(versions)) for e in entries),
        dtype=np.int32,
        count=n,
    )
    numerical = {
        name: np.array([_number(e.features.get(name)) for e in entries], dtype=np.float64)
        for name in layout.numerical
    }
    codes: dict[str, np.ndarray] = {}
    categories: dict[str, list[str]] = {}
    for name in layout.categorical:
        seen: dict[str, int] = {}
        codes[name] = np.fromiter(
            (_code(e.features.get(name), seen) for e in entries), dtype=np.int32, count=n
        )
        categories[name] = list(seen)
    proba = np.array(
        [[e.probabilities.get(c, math.nan) for c in layout.labels] for e in entries],
        dtype=np.float64,
    ).reshape(n, len(layout.labels))
    appended: dict[str, int] = {}
    for version, code in versions.items():
        appended[version] = int(np.count_nonzero(version_codes == code))
    return LogColumns(
        layout=layout,
        ts=np.fromiter((e.ts for e in entries), dtype=np.float64, count=n),
        version_codes=version_codes,
        versions=list(versions),
        numerical=numerical,
        codes=codes,
        categories=categories,
        proba=proba,
        newest_id=newest_id,
        appended=appended,
    )


def features_frame(entries: list[LogEntry], numerical: list[str], categorical: list[str]) -> Any:
    """A typed DataFrame of the features (numeric float64, categorical str / NaN)."""
    data: dict[str, Any] = {}
    for name in numerical:
        data[name] = np.array([e.features.get(name) for e in entries], dtype=float)
    for name in categorical:
        values = np.array([e.features.get(name) for e in entries], dtype=object)
        missing = pd.isna(values)
        values[missing] = np.nan
        if not all(isinstance(v, str) for v in values[~missing]):
            values[~missing] = [str(v) for v in values[~missing]]
        data[name] = values
    return pd.DataFrame(data, columns=[*numerical, *categorical])
