"""Loading the dataset: missing-value marker, dtypes, required columns, checksum."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ml.data.loading import file_sha256, load_dataset
from ml.data.spec import TITANIC
from ml.errors import DatasetError


def test_question_marks_are_read_as_missing(titanic: pd.DataFrame) -> None:
    assert len(titanic) == 1309
    assert titanic["age"].isna().sum() == 263
    assert titanic["fare"].isna().sum() == 1
    assert titanic["embarked"].isna().sum() == 2
    assert not (titanic.astype(str) == "?").any().any()


def test_numeric_features_are_float64_and_categoricals_are_strings(titanic: pd.DataFrame) -> None:
    for name in TITANIC.numeric_features:
        assert titanic[name].dtype == "float64", name
    for name in TITANIC.categorical_features:
        assert titanic[name].dtype == object, name
        present = titanic[name].dropna()
        assert all(isinstance(v, str) for v in present), name
    assert titanic["survived"].dtype == "int64"
    assert set(titanic["sex"].unique()) == {"female", "male"}


def test_missing_required_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "partial.csv"
    pd.read_csv(TITANIC.default_path).drop(columns=["age", "fare"]).to_csv(path, index=False)
    with pytest.raises(DatasetError, match=r"\['age', 'fare'\]"):
        load_dataset(TITANIC, path)


def test_a_non_numeric_value_in_a_numeric_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    frame = pd.read_csv(TITANIC.default_path)
    frame.loc[0, "age"] = "old"
    frame.to_csv(path, index=False)
    with pytest.raises(DatasetError, match="'age'"):
        load_dataset(TITANIC, path)


def test_unknown_target_values_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad_target.csv"
    frame = pd.read_csv(TITANIC.default_path)
    frame.loc[3, "survived"] = 7
    frame.to_csv(path, index=False)
    with pytest.raises(DatasetError, match="survived"):
        load_dataset(TITANIC, path)


def test_an_unreadable_file_is_a_dataset_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot read"):
        load_dataset(TITANIC, tmp_path / "absent.csv")


def test_shipped_file_matches_the_expected_sha256() -> None:
    assert file_sha256(TITANIC.default_path) == TITANIC.sha256
