"""Checking a model version folder built elsewhere before it is registered.

:func:`verify_version` is what registration runs on a folder (``model.skops``,
``lean.npz``, ``model_card.json``, ``reference.csv``) before any process may load
it: every artifact matches its sha256 in the card, the estimator loads with
trusted types only (scikit-learn and numpy classes; anything else, or a file that
is not a skops archive, is refused), it is a classifier of the card's classes that
scores the reference data, and its lean scorer gives the pipeline's probabilities
(within the tolerance training uses) on probe rows and the reference data. A
version without ``lean.npz`` must still compile to one that agrees. Any failure
raises :class:`~ml.errors.VersionRefused` saying what did not match.

Imports scikit-learn (through the lean compiler): registration runs in its own
command, never in a web or scoring process.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ml.data.loading import coerce_features
from ml.errors import MLError, VersionRefused
from ml.lean.artifact import loads as load_lean
from ml.lean.compile import LEAN_TOLERANCE, check_agreement, compile_pipeline
from ml.registry import (
    CARD_FILE,
    LEAN_FILE,
    MODEL_FILE,
    REFERENCE_FILE,
    loads_trusted,
    read_folder_card,
)
from ml.schema import FeatureSchema

__all__ = ["LEAN_TOLERANCE", "VerifiedVersion", "verify_version"]


@dataclass(frozen=True)
class VerifiedVersion:
    """A version folder that passed every check."""

    version: str
    card: dict[str, Any]
    lean: bool  # whether it has a lean artifact (else scoring loads scikit-learn)
    max_difference: float  # largest |lean - pipeline| probability found on the checked rows


def verify_version(folder: Path | str) -> VerifiedVersion:
    """Every check registration makes on a version folder; VersionRefused on the first failure."""
    folder = Path(folder)
    if not (folder / CARD_FILE).is_file():
        raise VersionRefused(f"{str(folder)!r} holds no {CARD_FILE}")
    try:
        card = read_folder_card(folder)
        schema = FeatureSchema.from_dict(card["feature_schema"])
        labels = list(card["class_labels"])
    except MLError as exc:
        raise VersionRefused(str(exc)) from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise VersionRefused(f"the model card lacks a valid {exc}") from exc
    try:
        pipeline = loads_trusted((folder / MODEL_FILE).read_bytes(), MODEL_FILE)
    except MLError as exc:
        raise VersionRefused(str(exc)) from exc
    reference = _reference(folder, schema)
    _check_classifier(pipeline, labels, _features(reference, schema))
    if LEAN_FILE in card["artifacts"]:
        try:
            lean = load_lean((folder / LEAN_FILE).read_bytes())
        except MLError as exc:
            raise VersionRefused(f"{LEAN_FILE}: {exc}") from exc
        what = LEAN_FILE
    else:
        try:
            lean = compile_pipeline(pipeline)
        except MLError as exc:
            raise VersionRefused(
                f"no {LEAN_FILE}, and the pipeline does not compile: {exc}"
            ) from exc
        what = f"the lean scorer compiled from {MODEL_FILE}"
    try:
        worst = check_agreement(lean, pipeline, schema, reference)
    except (MLError, ValueError, TypeError, KeyError) as exc:
        raise VersionRefused(
            f"{what} disagrees with {MODEL_FILE} on the reference data "
            f"(tolerance {LEAN_TOLERANCE:g}): {exc}"
        ) from exc
    return VerifiedVersion(card["version"], card, LEAN_FILE in card["artifacts"], worst)


def _reference(folder: Path, schema: FeatureSchema) -> pd.DataFrame:
    try:
        reference = pd.read_csv(folder / REFERENCE_FILE)
    except (OSError, ValueError) as exc:
        raise VersionRefused(f"unreadable {REFERENCE_FILE}: {exc}") from exc
    missing = [name for name in schema.feature_names if name not in reference.columns]
    if missing:
        raise VersionRefused(f"{REFERENCE_FILE} lacks the feature columns {missing}")
    if reference.empty:
        raise VersionRefused(f"{REFERENCE_FILE} holds no rows")
    return reference


def _features(reference: pd.DataFrame, schema: FeatureSchema) -> pd.DataFrame:
    numeric = [f.name for f in schema.features if f.kind == "numeric"]
    categorical = [f.name for f in schema.features if f.kind == "categorical"]
    return coerce_features(reference[schema.feature_names], numeric, categorical)


def _check_classifier(pipeline: Any, labels: list[str], reference: pd.DataFrame) -> None:
    classes = getattr(pipeline, "classes_", None)
    if classes is None or not hasattr(pipeline, "predict_proba"):
        raise VersionRefused(f"{MODEL_FILE} holds a {type(pipeline).__name__}, not a classifier")
    if len(classes) != len(labels):
        raise VersionRefused(
            f"{MODEL_FILE} predicts {len(classes)} classes, the model card names {labels}"
        )
    try:
        proba = pipeline.predict_proba(reference)
    except Exception as exc:  # any estimator error means the version is unusable
        raise VersionRefused(f"{MODEL_FILE} cannot score {REFERENCE_FILE}: {exc!r}") from exc
    if proba.shape != (len(reference), len(labels)) or not np.isfinite(proba).all():
        raise VersionRefused(f"{MODEL_FILE} gives malformed probabilities on {REFERENCE_FILE}")
