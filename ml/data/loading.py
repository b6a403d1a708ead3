"""Loading a dataset described by a :class:`~ml.data.spec.DatasetSpec` into typed columns."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from ml.data.spec import TITANIC, DatasetSpec
from ml.errors import DatasetError
from ml.registry import file_sha256

__all__ = ["coerce_features", "file_sha256", "load_dataset"]


def coerce_features(
    df: pd.DataFrame, numeric: Iterable[str], categorical: Iterable[str]
) -> pd.DataFrame:
    """Return a copy with numeric columns as float64 and categorical ones as object.

    Missing values become ``NaN`` in both (the form scikit-learn's imputers
    recognise); categorical values become ``str``. A numeric column holding
    a non-number raises :class:`DatasetError` naming the column.
    """
    out = df.copy()
    for name in numeric:
        try:
            out[name] = pd.to_numeric(out[name], errors="raise").astype("float64")
        except (ValueError, TypeError) as exc:
            raise DatasetError(f"column {name!r} must be numeric: {exc}") from exc
    for name in categorical:
        column = out[name].astype(object)
        missing = column.isna().to_numpy()
        values = column.to_numpy(dtype=object, copy=True)
        values[missing] = np.nan
        values[~missing] = [str(v) for v in values[~missing]]
        out[name] = pd.Series(values, index=out.index, dtype=object)
    return out


def load_dataset(spec: DatasetSpec = TITANIC, path: Path | str | None = None) -> pd.DataFrame:
    """Read the dataset CSV with ``spec.na_marker`` (and empty fields) as missing.

    Features are typed (numeric float64, categorical object with ``NaN`` for
    missing); the target is mapped to int64 and must hold only the spec's class
    values. Raises :class:`DatasetError` when the file cannot be read or columns
    are missing or malformed.
    """
    csv_path = Path(path) if path is not None else spec.default_path
    try:
        df = pd.read_csv(
            csv_path, na_values=[spec.na_marker, ""], keep_default_na=False, low_memory=False
        )
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read dataset {str(csv_path)!r}: {exc}") from exc

    required = [*spec.features, spec.target]
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise DatasetError(f"dataset {str(csv_path)!r} lacks required columns: {missing}")

    df = coerce_features(df, spec.numeric_features, spec.categorical_features)
    target = pd.to_numeric(df[spec.target], errors="coerce")
    bad = target.isna() | ~target.isin(list(spec.class_labels))
    if bad.any():
        examples = df.loc[bad, spec.target].head(3).tolist()
        raise DatasetError(
            f"target {spec.target!r} has {int(bad.sum())} values outside "
            f"{sorted(spec.class_labels)}, e.g. {examples}"
        )
    df[spec.target] = target.astype("int64")
    return df
