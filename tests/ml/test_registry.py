"""The registry: versions, default, integrity checks before deserializing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ml.artifacts import add_lean_artifact
from ml.errors import ArtifactIntegrityError, ModelNotFound
from ml.model import Model
from ml.registry import Registry, is_trusted_type
from ml.schema import validate_instances
from tests.ml.conftest import TRAINED_VERSION
from tests.payloads import PASSENGER


@pytest.fixture
def copy_root(trained_root: Path, tmp_path: Path) -> Path:
    """A private copy of the trained models directory, safe to damage."""
    root = tmp_path / "models"
    shutil.copytree(trained_root, root)
    return root


def test_versions_lists_only_folders_with_a_card(copy_root: Path) -> None:
    (copy_root / "no-card").mkdir()
    (copy_root / ".tmp-x").mkdir()
    assert Registry(copy_root).versions() == [TRAINED_VERSION]


def test_default_version_is_the_one_named_by_default(registry: Registry) -> None:
    assert registry.default_version() == TRAINED_VERSION
    assert registry.resolve(None) == TRAINED_VERSION


def test_default_falls_back_to_the_newest_version(copy_root: Path) -> None:
    newer = copy_root / "newer"
    shutil.copytree(copy_root / TRAINED_VERSION, newer)
    card = json.loads((newer / "model_card.json").read_text())
    card["created_at"] = "2999-01-01T00:00:00.000Z"
    (newer / "model_card.json").write_text(json.dumps(card))
    (copy_root / "DEFAULT").write_text("uninstalled\n")
    assert Registry(copy_root).default_version() == "newer"


def test_an_empty_registry_has_no_model(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFound):
        Registry(tmp_path / "absent").default_version()


@pytest.mark.parametrize("version", ["nope", "../models", "a/b", "", ".hidden", "x" * 65])
def test_unknown_or_malformed_versions_are_not_found(registry: Registry, version: str) -> None:
    with pytest.raises(ModelNotFound):
        registry.resolve(version)
    with pytest.raises(ModelNotFound):
        registry.load(version)


def test_schema_comes_from_the_card(registry: Registry) -> None:
    schema = registry.schema(TRAINED_VERSION)
    assert schema.feature_names == ["pclass", "sex", "age", "sibsp", "parch", "fare", "embarked"]
    assert schema.class_labels == ["died", "survived"]


def test_tampered_artifact_is_refused(copy_root: Path) -> None:
    path = copy_root / TRAINED_VERSION / "model.skops"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactIntegrityError, match=r"model\.skops"):
        Registry(copy_root).load(TRAINED_VERSION)


def test_missing_artifact_is_refused(copy_root: Path) -> None:
    (copy_root / TRAINED_VERSION / "model.skops").unlink()
    with pytest.raises(ArtifactIntegrityError, match=r"model\.skops"):
        Registry(copy_root).load(TRAINED_VERSION)


def test_tampered_reference_data_is_refused(copy_root: Path) -> None:
    with (copy_root / TRAINED_VERSION / "reference.csv").open("a") as out:
        out.write("1,male,30,0,0,10,S,died,died,0.9,0.1\n")
    with pytest.raises(ArtifactIntegrityError, match=r"reference\.csv"):
        Registry(copy_root).reference_path(TRAINED_VERSION)


def test_only_classes_defined_in_sklearn_or_numpy_are_trusted() -> None:
    assert is_trusted_type("numpy.dtype")
    assert is_trusted_type("sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor")
    assert not is_trusted_type("builtins.eval")
    assert not is_trusted_type("os.system")
    assert not is_trusted_type("numpy.load")  # a function, not a class
    assert not is_trusted_type("sklearn.utils.fixes.Path")  # absent or foreign


def test_tampered_lean_artifact_is_refused(copy_root: Path) -> None:
    path = copy_root / TRAINED_VERSION / "lean.npz"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactIntegrityError, match=r"lean\.npz"):
        Registry(copy_root).load(TRAINED_VERSION)


def without_lean_artifact(root: Path) -> None:
    """Make the trained version look like one installed before lean artifacts existed."""
    folder = root / TRAINED_VERSION
    card = json.loads((folder / "model_card.json").read_text())
    del card["artifacts"]["lean.npz"]
    (folder / "model_card.json").write_text(json.dumps(card))
    (folder / "lean.npz").unlink()


def test_a_version_without_lean_artifact_loads_its_pipeline(copy_root: Path, model: Model) -> None:
    without_lean_artifact(copy_root)
    old = Registry(copy_root).load(TRAINED_VERSION)
    assert old.lean is not None  # compiled from the pipeline at load time
    rows = validate_instances(old.schema, [PASSENGER])
    np.testing.assert_array_equal(old.predict_proba_rows(rows), model.predict_proba_rows(rows))


def test_a_lean_artifact_can_be_added_to_an_older_version(copy_root: Path, model: Model) -> None:
    without_lean_artifact(copy_root)
    assert add_lean_artifact(copy_root, TRAINED_VERSION)
    card = Registry(copy_root).card(TRAINED_VERSION)
    assert card["artifacts"]["lean.npz"] == model.card["artifacts"]["lean.npz"]
    assert (copy_root / TRAINED_VERSION / "lean.npz").is_file()
    assert sorted(p.name for p in (copy_root / TRAINED_VERSION).iterdir()) == [
        "lean.npz",
        "model.skops",
        "model_card.json",
        "reference.csv",
    ]
