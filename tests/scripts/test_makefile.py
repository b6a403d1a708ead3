"""The Makefile's targets honour the settings the README documents."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from devsupport import ROOT


def dry_run(target: str, **settings: str) -> list[str]:
    """The commands ``make -n target`` would run with only these ``LIFEBOAT_`` settings."""
    make = shutil.which("make")
    if make is None:
        if os.environ.get("CI"):
            raise RuntimeError("make is missing")
        pytest.skip("make is not installed")
    out = subprocess.run(
        [make, "-n", target],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("LIFEBOAT_")}, **settings},
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.splitlines()


def test_make_train_writes_into_lifeboat_models_dir(tmp_path: Path) -> None:
    [train] = [
        line for line in dry_run("train", LIFEBOAT_MODELS_DIR=str(tmp_path)) if "ml.train" in line
    ]
    assert train.endswith(f'-m ml.train --models-dir "{tmp_path}"')


def test_make_train_writes_into_models_by_default() -> None:
    [train] = [line for line in dry_run("train") if "ml.train" in line]
    assert train.endswith('-m ml.train --models-dir "models"')
