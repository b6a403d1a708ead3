"""Training: reproducibility, quality, artifacts, refusals."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ml.data.spec import TITANIC
from ml.errors import DatasetError, MLError
from ml.model import Model
from ml.registry import VERSION_PATTERN
from ml.train import main, new_version, train
from tests.ml.conftest import TRAINED_VERSION


def test_same_data_and_seed_give_identical_metrics(tmp_path: Path, card: dict[str, Any]) -> None:
    exit_code = main(["--models-dir", str(tmp_path), "--version", "again", "--no-default"])
    assert exit_code == 0
    again = json.loads((tmp_path / "again" / "model_card.json").read_text())
    assert again["holdout_metrics"] == card["holdout_metrics"]
    assert again["cv"] == card["cv"]
    assert again["calibration"] == card["calibration"]
    assert again["estimator"] == card["estimator"]
    assert not (tmp_path / "DEFAULT").exists()


def test_held_out_roc_auc_is_at_least_084(card: dict[str, Any]) -> None:
    assert card["holdout_metrics"]["roc_auc"] >= 0.84


def test_card_records_what_was_trained(card: dict[str, Any]) -> None:
    assert card["version"] == TRAINED_VERSION
    assert card["dataset"] == {"name": "titanic", "sha256": TITANIC.sha256, "n_rows": 1309}
    assert card["target"] == "survived"
    assert card["class_labels"] == ["died", "survived"]
    assert set(card["holdout_metrics"]) == {"accuracy", "roc_auc", "f1", "log_loss", "brier"}
    assert set(card["cv"]["candidates"]) == {"logistic_regression", "hist_gradient_boosting"}
    assert card["estimator"] in card["cv"]["candidates"]
    assert set(card["libraries"]) == {"python", "sklearn", "numpy", "pandas", "skops"}
    assert set(card["artifacts"]) == {"model.skops", "lean.npz", "reference.csv"}
    assert [f["name"] for f in card["feature_schema"]["features"]] == list(TITANIC.features)
    assert card["split"] == {"holdout_fraction": 0.2, "n_train": 1047, "n_holdout": 262}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", card["created_at"])


def test_calibration_bins_cover_the_held_out_rows(card: dict[str, Any]) -> None:
    calibration = card["calibration"]
    assert calibration["n_bins"] == len(calibration["bins"]) == 10
    assert sum(b["count"] for b in calibration["bins"]) == card["split"]["n_holdout"]
    assert 0 <= calibration["expected_calibration_error"] < 0.2


def test_leaking_columns_are_never_model_inputs(model: Model) -> None:
    pipeline = model.pipeline
    inputs = set(pipeline.feature_names_in_)
    used = {c for _, _, columns in pipeline[0].transformers_ for c in columns}
    assert inputs == used == {"pclass", "sex", "age", "sibsp", "parch", "fare", "embarked"}
    assert not inputs & {"boat", "body", "home.dest", "survived", "name", "ticket", "cabin"}


def test_reference_data_holds_training_rows_with_predictions(
    trained_root: Path, card: dict[str, Any]
) -> None:
    reference = pd.read_csv(trained_root / TRAINED_VERSION / "reference.csv")
    assert list(reference.columns) == [
        *TITANIC.features,
        "survived",
        "prediction",
        "proba_died",
        "proba_survived",
    ]
    assert len(reference) == card["split"]["n_train"] == card["reference"]["n_rows"]
    assert set(reference["survived"]) == set(reference["prediction"]) == {"died", "survived"}
    total = reference["proba_died"] + reference["proba_survived"]
    assert (total - 1).abs().max() < 1e-12


def test_default_file_names_the_trained_version(trained_root: Path) -> None:
    assert (trained_root / "DEFAULT").read_text().strip() == TRAINED_VERSION


def test_no_temporary_folders_are_left_behind(trained_root: Path) -> None:
    assert sorted(p.name for p in trained_root.iterdir()) == ["DEFAULT", TRAINED_VERSION]


def test_data_with_another_checksum_is_refused(tmp_path: Path) -> None:
    data = tmp_path / "changed.csv"
    data.write_bytes(TITANIC.default_path.read_bytes() + b"\n")
    with pytest.raises(DatasetError, match="allow-any-data"):
        train(TITANIC, data, tmp_path / "models", 42, "v1", True)
    assert not (tmp_path / "models").exists()


def test_an_existing_version_is_not_overwritten(trained_root: Path) -> None:
    with pytest.raises(MLError, match="already exists"):
        train(TITANIC, None, trained_root, 42, TRAINED_VERSION, False)


def test_default_version_names_are_utc_timestamps() -> None:
    version = new_version(datetime(2026, 11, 26, 10, 0, 5, tzinfo=UTC))
    assert version == "20261126T100005Z"
    assert VERSION_PATTERN.fullmatch(version)
