"""Registration checks of a version folder built elsewhere: each tampered artifact is refused."""

from __future__ import annotations

import io
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import FunctionTransformer

from ml.errors import VersionRefused
from ml.registry import file_sha256, loads_trusted
from ml.verification import verify_version
from tests.ml.conftest import TRAINED_VERSION


class SneakyClassifier(LogisticRegression):
    """A classifier skops cannot trust: its class lives outside scikit-learn and numpy."""


def shout(x: object) -> object:
    return x


@pytest.fixture
def folder(trained_root: Path, tmp_path: Path) -> Path:
    """A private copy of the trained version's folder, safe to damage."""
    copy = tmp_path / TRAINED_VERSION
    shutil.copytree(trained_root / TRAINED_VERSION, copy)
    return copy


def rewrite(folder: Path, name: str, data: bytes) -> None:
    """Replace an artifact and record its new sha256 in the card, as a forger would."""
    (folder / name).write_bytes(data)
    card = json.loads((folder / "model_card.json").read_text())
    card["artifacts"][name] = file_sha256(folder / name)
    (folder / "model_card.json").write_text(json.dumps(card))


def test_an_untouched_version_passes_with_its_lean_scorer_agreeing(folder: Path) -> None:
    checked = verify_version(folder)
    assert checked.version == TRAINED_VERSION
    assert checked.lean
    assert checked.max_difference <= 1e-9


@pytest.mark.parametrize("name", ["model.skops", "lean.npz", "reference.csv"])
def test_an_artifact_differing_from_its_sha256_is_refused(folder: Path, name: str) -> None:
    with (folder / name).open("ab") as out:
        out.write(b"\n")
    with pytest.raises(VersionRefused, match=rf"{name} does not match its sha256"):
        verify_version(folder)


@pytest.mark.parametrize("name", ["model.skops", "lean.npz", "reference.csv"])
def test_a_missing_artifact_is_refused(folder: Path, name: str) -> None:
    (folder / name).unlink()
    with pytest.raises(VersionRefused, match=rf"missing artifact {name}"):
        verify_version(folder)


def test_a_folder_without_model_card_is_refused(folder: Path) -> None:
    (folder / "model_card.json").unlink()
    with pytest.raises(VersionRefused, match=r"holds no model_card\.json"):
        verify_version(folder)


def test_a_card_recording_no_sha256_of_the_model_is_refused(folder: Path) -> None:
    card = json.loads((folder / "model_card.json").read_text())
    del card["artifacts"]["model.skops"]
    (folder / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(VersionRefused, match=r"records no sha256 of model\.skops"):
        verify_version(folder)


def test_a_file_the_card_does_not_record_is_refused(folder: Path) -> None:
    (folder / "extra.py").write_text("import os\n")
    with pytest.raises(VersionRefused, match=r"does not record: \['extra\.py'\]"):
        verify_version(folder)


def test_a_pickle_named_model_skops_is_refused(folder: Path) -> None:
    pipeline = loads_trusted((folder / "model.skops").read_bytes(), "model")
    rewrite(folder, "model.skops", pickle.dumps(pipeline))
    with pytest.raises(VersionRefused, match=r"model\.skops is not a readable skops file"):
        verify_version(folder)


def test_a_skops_file_holding_a_foreign_class_is_refused(folder: Path) -> None:
    pipeline = loads_trusted((folder / "model.skops").read_bytes(), "model")
    sneaky = SneakyClassifier()
    pipeline.steps[-1] = ("model", sneaky)
    rewrite(folder, "model.skops", skops.io.dumps(pipeline))
    with pytest.raises(VersionRefused, match=r"untrusted types: \['tests\.ml\.test_verif"):
        verify_version(folder)


@pytest.mark.parametrize("func", [os.system, shout], ids=["os.system", "a test function"])
def test_a_skops_file_calling_a_foreign_function_is_refused(folder: Path, func: object) -> None:
    pipeline = loads_trusted((folder / "model.skops").read_bytes(), "model")
    pipeline.steps.insert(0, ("call", FunctionTransformer(func)))
    rewrite(folder, "model.skops", skops.io.dumps(pipeline))
    with pytest.raises(VersionRefused, match=r"model\.skops holds untrusted types"):
        verify_version(folder)


def test_a_lean_scorer_disagreeing_with_the_pipeline_is_refused(folder: Path) -> None:
    with np.load(folder / "lean.npz", allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    nudged = "head.intercept" if "head.intercept" in arrays else "head.baseline"
    arrays[nudged] = arrays[nudged] + 1e-6  # a millionth: far past the 1e-9 training allows
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    rewrite(folder, "lean.npz", buffer.getvalue())
    with pytest.raises(VersionRefused, match=r"lean\.npz disagrees with model\.skops"):
        verify_version(folder)


def test_a_malformed_lean_artifact_is_refused(folder: Path) -> None:
    rewrite(folder, "lean.npz", b"PK\x03\x04 not really a zip")
    with pytest.raises(VersionRefused, match=r"lean\.npz: unreadable lean artifact"):
        verify_version(folder)


def test_a_model_predicting_other_classes_than_its_card_is_refused(folder: Path) -> None:
    card = json.loads((folder / "model_card.json").read_text())
    card["class_labels"] = ["died", "survived", "missing"]
    (folder / "model_card.json").write_text(json.dumps(card))
    with pytest.raises(VersionRefused, match=r"predicts 2 classes"):
        verify_version(folder)


def test_reference_data_without_the_feature_columns_is_refused(folder: Path) -> None:
    first = json.loads((folder / "model_card.json").read_text())["feature_schema"]
    dropped = first["features"][0]["name"]
    reference = pd.read_csv(folder / "reference.csv").drop(columns=[dropped])
    rewrite(folder, "reference.csv", reference.to_csv(index=False).encode())
    with pytest.raises(VersionRefused, match=rf"lacks the feature columns \['{dropped}'\]"):
        verify_version(folder)


def test_a_version_without_lean_artifact_passes_when_its_pipeline_compiles_to_one(
    folder: Path,
) -> None:
    card = json.loads((folder / "model_card.json").read_text())
    del card["artifacts"]["lean.npz"]
    (folder / "model_card.json").write_text(json.dumps(card))
    (folder / "lean.npz").unlink()
    checked = verify_version(folder)
    assert not checked.lean
    assert checked.max_difference <= 1e-9
