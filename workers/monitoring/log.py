"""Logged predictions in pandas form, for monitoring: frames, probability matrices.

Reading the log is :class:`core.prediction_log.PredictionLog`'s job; this module
turns predictions one by one (:class:`~core.prediction_log.LogEntry`) into what
Evidently and the estimators compute on, and pauses the garbage collector while
many small objects are made.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.prediction_log import LogEntry


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while ~100,000 small objects are created.

    Each collection would traverse every object decoded so far: on a window of
    100,000 entries that doubles the reading time. Reference counting still frees
    everything; the collector runs again as soon as the block ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def features_frame(entries: list[LogEntry], numerical: list[str], categorical: list[str]) -> Any:
    """A typed DataFrame of the features (numeric float64, categorical str / NaN)."""
    import numpy as np
    import pandas as pd

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


def probabilities_matrix(entries: list[LogEntry], labels: list[str]) -> Any:
    """Class probabilities, one row per entry, one column per label in ``labels`` order."""
    import numpy as np

    return np.array(
        [[e.probabilities.get(c, np.nan) for c in labels] for e in entries], dtype=float
    )
