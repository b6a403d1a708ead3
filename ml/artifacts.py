"""Writing a model version folder atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import skops.io

from ml.dataset import file_sha256
from ml.errors import MLError
from ml.registry import CARD_FILE, DEFAULT_FILE, MODEL_FILE, REFERENCE_FILE, check_version


def write_version(
    models_dir: Path,
    version: str,
    pipeline: object,
    card: dict[str, Any],
    reference: pd.DataFrame,
) -> dict[str, Any]:
    """Write ``models_dir/<version>/`` through a temporary folder renamed at the end.

    Records the sha256 of the model and reference files in the card's
    ``artifacts`` and returns the completed card. Refuses an existing version.
    """
    check_version(version)
    models_dir.mkdir(parents=True, exist_ok=True)
    final = models_dir / version
    if final.exists():
        raise MLError(f"model version {version!r} already exists in {str(models_dir)!r}")
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=models_dir))
    try:
        skops.io.dump(pipeline, staging / MODEL_FILE)
        reference.to_csv(staging / REFERENCE_FILE, index=False)
        card = {
            **card,
            "artifacts": {
                MODEL_FILE: file_sha256(staging / MODEL_FILE),
                REFERENCE_FILE: file_sha256(staging / REFERENCE_FILE),
            },
        }
        (staging / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
        staging.chmod(0o755)
        os.rename(staging, final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return card


def write_default(models_dir: Path, version: str) -> None:
    """Atomically make ``version`` the default (the DEFAULT file)."""
    check_version(version)
    handle, temporary = tempfile.mkstemp(prefix=".tmp-default-", dir=models_dir)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(version + "\n")
    os.chmod(temporary, 0o644)
    os.replace(temporary, models_dir / DEFAULT_FILE)
