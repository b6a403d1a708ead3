"""Current-data frames for the tests: drawn from the reference data, or shifted."""

from __future__ import annotations

import pandas as pd

AGE_SHIFT = 15.0  # years added to every age
FARE_SHIFT = 30.0  # added to every fare
SEED = 7


def drawn(reference: pd.DataFrame, features: list[str], n: int, seed: int = SEED) -> pd.DataFrame:
    """``n`` rows drawn (with replacement) from the reference distribution."""
    return reference[features].sample(n=n, replace=True, random_state=seed).reset_index(drop=True)


def shifted(reference: pd.DataFrame, features: list[str], n: int, seed: int = SEED) -> pd.DataFrame:
    """Rows drawn from the reference with ``age`` and ``fare`` moved up."""
    frame = drawn(reference, features, n, seed)
    frame["age"] = frame["age"] + AGE_SHIFT
    frame["fare"] = (frame["fare"] + FARE_SHIFT).clip(upper=1000.0)
    return frame


def holdout() -> tuple[pd.DataFrame, list[str]]:
    """The hold-out rows training kept aside (never seen by the model) and their labels."""
    from sklearn.model_selection import train_test_split

    from ml.data.loading import load_dataset
    from ml.data.spec import TITANIC
    from ml.train import DEFAULT_SEED, HOLDOUT_FRACTION

    df = load_dataset(TITANIC)
    _, x_test, _, y_test = train_test_split(
        df[list(TITANIC.features)],
        df[TITANIC.target],
        test_size=HOLDOUT_FRACTION,
        stratify=df[TITANIC.target],
        random_state=DEFAULT_SEED,
    )
    labels = [TITANIC.class_labels[int(v)] for v in y_test]
    return x_test.reset_index(drop=True), labels
