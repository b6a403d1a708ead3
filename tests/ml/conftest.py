"""Fixtures of the ml tests: one model version trained once per session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ml.data.loading import load_dataset
from ml.data.spec import TITANIC
from ml.model import Model
from ml.registry import Registry
from ml.train import train

TRAINED_VERSION = "ml-test-v1"


@pytest.fixture(scope="session")
def trained_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models directory holding one version trained with seed 42."""
    root = tmp_path_factory.mktemp("ml-models")
    train(TITANIC, None, root, 42, TRAINED_VERSION, True)
    return root


@pytest.fixture(scope="session")
def registry(trained_root: Path) -> Registry:
    return Registry(trained_root)


@pytest.fixture(scope="session")
def card(registry: Registry) -> dict[str, Any]:
    return registry.card(TRAINED_VERSION)


@pytest.fixture(scope="session")
def model(registry: Registry) -> Model:
    return registry.load(TRAINED_VERSION)


@pytest.fixture(scope="session")
def titanic() -> pd.DataFrame:
    return load_dataset(TITANIC)
