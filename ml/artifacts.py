"""Writing a model version folder atomically.

``python -m ml.artifacts [--models-dir models] VERSION...`` gives installed
versions trained before lean artifacts existed their ``lean.npz``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import skops.io

from ml.data.loading import file_sha256
from ml.errors import MLError
from ml.registry import (
    CARD_FILE,
    DEFAULT_FILE,
    LEAN_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    Registry,
    check_version,
)
from ml.schema import FeatureSchema


def write_version(
    models_dir: Path,
    version: str,
    pipeline: object,
    card: dict[str, Any],
    reference: pd.DataFrame,
) -> dict[str, Any]:
    """Write ``models_dir/<version>/`` through a temporary folder renamed at the end.

    Records the sha256 of the model, lean scorer and reference files in the
    card's ``artifacts`` and returns the completed card. A pipeline the lean
    compiler cannot handle gets no lean artifact (scoring then loads it with
    scikit-learn). Refuses an existing version.
    """
    from ml.lean.compile import lean_artifact_bytes

    lean = lean_artifact_bytes(pipeline, FeatureSchema.from_dict(card["feature_schema"]), reference)
    check_version(version)
    models_dir.mkdir(parents=True, exist_ok=True)
    final = models_dir / version
    if final.exists():
        raise MLError(f"model version {version!r} already exists in {str(models_dir)!r}")
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=models_dir))
    try:
        skops.io.dump(pipeline, staging / MODEL_FILE)
        reference.to_csv(staging / REFERENCE_FILE, index=False)
        artifacts = {
            MODEL_FILE: file_sha256(staging / MODEL_FILE),
            REFERENCE_FILE: file_sha256(staging / REFERENCE_FILE),
        }
        if lean is not None:
            (staging / LEAN_FILE).write_bytes(lean)
            artifacts[LEAN_FILE] = file_sha256(staging / LEAN_FILE)
        card = {**card, "artifacts": artifacts}
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


def add_lean_artifact(models_dir: Path, version: str) -> bool:
    """Give an installed version (trained before lean artifacts existed) its lean artifact.

    Loads the verified pipeline, compiles and checks the scorer (probe rows and
    the reference data), writes ``lean.npz`` and then the card recording its
    sha256, each atomically. Returns whether the version now has one.
    """
    registry = Registry(models_dir)
    resolved = registry.resolve(version)
    card = registry.card(resolved)
    if LEAN_FILE in card.get("artifacts", {}):
        return True
    from ml.lean.compile import lean_artifact_bytes

    reference = pd.read_csv(registry.reference_path(resolved))
    schema = FeatureSchema.from_dict(card["feature_schema"])
    lean = lean_artifact_bytes(registry.load_pipeline(resolved), schema, reference)
    if lean is None:
        return False
    folder = registry.path(resolved)
    _write_atomically(folder / LEAN_FILE, lean)
    artifacts = {**card.get("artifacts", {}), LEAN_FILE: file_sha256(folder / LEAN_FILE)}
    card = {**card, "artifacts": artifacts}
    _write_atomically(folder / CARD_FILE, (json.dumps(card, indent=2) + "\n").encode("utf-8"))
    return True


def _write_atomically(path: Path, data: bytes) -> None:
    handle, temporary = tempfile.mkstemp(prefix=f".tmp-{path.name}-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def main(argv: list[str] | None = None) -> int:
    """Add lean artifacts to the named versions; exit status 1 if one cannot have one."""
    parser = argparse.ArgumentParser(prog="python -m ml.artifacts", description=__doc__)
    parser.add_argument("--models-dir", type=Path, default=Path("models"))
    parser.add_argument("versions", nargs="+", metavar="VERSION")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    done = [add_lean_artifact(args.models_dir, version) for version in args.versions]
    return 0 if all(done) else 1


if __name__ == "__main__":
    sys.exit(main())
