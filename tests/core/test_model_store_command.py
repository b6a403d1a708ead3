"""``python -m core.model_store``: a checked version is published (here to the models folder,
the store without ``LIFEBOAT_STORAGE_URL``), a tampered one refused with exit status 2 and
nothing written."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from devsupport import ROOT

V1 = "test-v1"


def command(models: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIFEBOAT_MODELS_DIR": str(models)}
    env.pop("LIFEBOAT_STORAGE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "core.model_store", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def folder(models_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "built" / V1
    shutil.copytree(models_dir / V1, copy)
    return copy


def test_register_publishes_a_checked_version_to_the_models_folder(
    folder: Path, tmp_path: Path
) -> None:
    done = command(tmp_path / "models", "register", str(folder), "--default")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"registered {V1} (lean scorer")
    assert (tmp_path / "models" / "DEFAULT").read_text() == f"{V1}\n"
    assert sorted(p.name for p in (tmp_path / "models" / V1).iterdir()) == sorted(
        p.name for p in folder.iterdir()
    )
    listed = command(tmp_path / "models", "list")
    assert listed.stdout.split() == [V1]


def test_register_refuses_a_tampered_version_with_status_2(folder: Path, tmp_path: Path) -> None:
    card = json.loads((folder / "model_card.json").read_text())
    card["artifacts"]["lean.npz"] = "0" * 64
    (folder / "model_card.json").write_text(json.dumps(card))
    done = command(tmp_path / "models", "register", str(folder))
    assert done.returncode == 2
    assert "refused" in done.stderr
    assert "lean.npz does not match its sha256 in the model card" in done.stderr
    assert not (tmp_path / "models").exists()


def test_verify_checks_without_publishing(folder: Path, tmp_path: Path) -> None:
    done = command(tmp_path / "models", "verify", str(folder))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"verified {V1}")
    assert not (tmp_path / "models").exists()
