"""Train, compare and install a model version.

``python -m ml.train [--data PATH] [--models-dir models] [--seed 42] [--version V]
[--no-default] [--allow-any-data]``
"""

from __future__ import annotations

import argparse
import logging
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sklearn
import skops
from sklearn.base import clone
from sklearn.model_selection import (
    StratifiedKFold,
    cross_val_predict,
    cross_val_score,
    train_test_split,
)
from threadpoolctl import threadpool_limits

from ml.artifacts import write_default, write_version
from ml.batch.columns import PROBA_PREFIX
from ml.data.loading import file_sha256, load_dataset
from ml.data.spec import TITANIC, DatasetSpec
from ml.errors import DatasetError, MLError
from ml.evaluation import calibration_report, holdout_metrics
from ml.pipelines import CANDIDATES
from ml.registry import check_version
from ml.schema import derive_schema

log = logging.getLogger(__name__)

DEFAULT_SEED = 42  # seeds the split, the folds and the estimators
DEFAULT_MODELS_DIR = Path("models")  # relative to the working directory
HOLDOUT_FRACTION = 0.2  # share of rows kept aside for the held-out metrics
CV_FOLDS = 5  # stratified folds used to compare candidates
TRAINING_THREADS = 1  # BLAS/OpenMP threads during fits (see train())
REFERENCE_MAX_ROWS = 5000  # rows kept in reference.csv for drift reports


def new_version(now: datetime) -> str:
    """Default version name: the UTC time as ``YYYYMMDDTHHMMSSZ``."""
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def library_versions() -> dict[str, str]:
    """Versions of the libraries the artifact depends on."""
    return {
        "python": platform.python_version(),
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "skops": skops.__version__,
    }


def _compare_candidates(
    x_train: pd.DataFrame, y_train: pd.Series, spec: DatasetSpec, cv: StratifiedKFold, seed: int
) -> dict[str, dict[str, Any]]:
    numeric, categorical = list(spec.numeric_features), list(spec.categorical_features)
    scores: dict[str, dict[str, Any]] = {}
    for name, build in CANDIDATES.items():
        folds = cross_val_score(
            build(numeric, categorical, seed), x_train, y_train, cv=cv, scoring="roc_auc"
        )
        scores[name] = {
            "roc_auc_mean": float(folds.mean()),
            "roc_auc_std": float(folds.std()),
            "roc_auc_folds": [float(s) for s in folds],
        }
        log.info("candidate %s: CV ROC AUC %.4f ± %.4f", name, folds.mean(), folds.std())
    return scores


def _reference_frame(
    *,
    x_train: pd.DataFrame,
    y_train: pd.Series,
    oof_proba: np.ndarray,
    spec: DatasetSpec,
    class_values: list[int],
    seed: int,
) -> pd.DataFrame:
    labels = [spec.class_labels[v] for v in class_values]
    reference = x_train.copy()
    reference[spec.target] = y_train.map(spec.class_labels)
    reference["prediction"] = [labels[i] for i in np.argmax(oof_proba, axis=1)]
    for position, label in enumerate(labels):
        reference[f"{PROBA_PREFIX}{label}"] = oof_proba[:, position]
    if len(reference) > REFERENCE_MAX_ROWS:
        reference = reference.sample(n=REFERENCE_MAX_ROWS, random_state=seed).sort_index()
    return reference.reset_index(drop=True)


def train(  # noqa: PLR0917 - positional signature is the documented interface
    spec: DatasetSpec = TITANIC,
    data_path: Path | str | None = None,
    models_dir: Path | str = DEFAULT_MODELS_DIR,
    seed: int = DEFAULT_SEED,
    version: str | None = None,
    set_default: bool = True,
    *,
    allow_any_data: bool = False,
) -> dict[str, Any]:
    """Train the best candidate on ``spec``'s data, install it and return its model card.

    Fits run on one thread: on a table this small, OpenMP threads cost more than
    they save (3x slower on a busy 2-core host) and one thread keeps results
    identical across machines.
    """
    with threadpool_limits(limits=TRAINING_THREADS):
        return _train(spec, data_path, Path(models_dir), seed, version, set_default, allow_any_data)


def _train(  # noqa: PLR0917
    spec: DatasetSpec,
    data_path: Path | str | None,
    models_dir: Path,
    seed: int,
    version: str | None,
    set_default: bool,
    allow_any_data: bool,
) -> dict[str, Any]:
    started = datetime.now(UTC)
    version = check_version(version or new_version(started))
    if (Path(models_dir) / version).exists():
        raise MLError(f"model version {version!r} already exists in {str(models_dir)!r}")
    path = Path(data_path) if data_path is not None else spec.default_path
    data_sha256 = file_sha256(path)
    if data_sha256 != spec.sha256 and not allow_any_data:
        raise DatasetError(
            f"{str(path)!r} has sha256 {data_sha256}, expected {spec.sha256} "
            "(pass --allow-any-data to train on it anyway)"
        )
    df = load_dataset(spec, path)
    class_values = sorted(spec.class_labels)
    if sorted(df[spec.target].unique()) != class_values or len(class_values) != 2:
        raise DatasetError(f"target {spec.target!r} must hold both classes {class_values}")
    class_labels = [spec.class_labels[v] for v in class_values]
    features = list(spec.features)
    schema = derive_schema(df, features, class_labels)

    x_train, x_test, y_train, y_test = train_test_split(
        df[features],
        df[spec.target],
        test_size=HOLDOUT_FRACTION,
        stratify=df[spec.target],
        random_state=seed,
    )
    cv = StratifiedKFold(n_splits=CV_FOLDS, shuffle=True, random_state=seed)
    cv_scores = _compare_candidates(x_train, y_train, spec, cv, seed)
    best = max(cv_scores, key=lambda name: cv_scores[name]["roc_auc_mean"])
    pipeline = CANDIDATES[best](list(spec.numeric_features), list(spec.categorical_features), seed)
    oof_proba = cross_val_predict(clone(pipeline), x_train, y_train, cv=cv, method="predict_proba")
    pipeline.fit(x_train, y_train)

    positive = pipeline.predict_proba(x_test)[:, 1]
    metrics = holdout_metrics(y_test.to_numpy(), positive)
    calibration = calibration_report(y_test.to_numpy(), positive)
    reference = _reference_frame(
        x_train=x_train,
        y_train=y_train,
        oof_proba=oof_proba,
        spec=spec,
        class_values=class_values,
        seed=seed,
    )

    card: dict[str, Any] = {
        "version": version,
        "created_at": started.strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{started.microsecond // 1000:03d}Z",
        "dataset": {"name": spec.name, "sha256": data_sha256, "n_rows": len(df)},
        "target": spec.target,
        "class_labels": class_labels,
        "class_values": class_values,
        "feature_schema": schema.to_dict(),
        "estimator": best,
        "seed": seed,
        "split": {
            "holdout_fraction": HOLDOUT_FRACTION,
            "n_train": len(x_train),
            "n_holdout": len(x_test),
        },
        "cv": {"folds": CV_FOLDS, "scoring": "roc_auc", "candidates": cv_scores},
        "holdout_metrics": metrics,
        "calibration": calibration,
        "reference": {
            "n_rows": len(reference),
            "rows": "training part",
            "predictions": f"out-of-fold ({CV_FOLDS} folds), not in-sample",
            "target_encoding": "class label",
        },
        "libraries": library_versions(),
    }
    card = write_version(Path(models_dir), version, pipeline, card, reference)
    if set_default:
        write_default(Path(models_dir), version)
    log.info(
        "installed %s (%s) in %s%s: %s; ECE %.4f",
        version,
        best,
        models_dir,
        " as default" if set_default else "",
        ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()),
        calibration["expected_calibration_error"],
    )
    return card


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ml.train", description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="dataset CSV (default: the spec's)")
    parser.add_argument("--models-dir", type=Path, default=DEFAULT_MODELS_DIR)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--version", default=None, help="version name (default: UTC timestamp)")
    parser.add_argument("--no-default", action="store_true", help="do not update models/DEFAULT")
    parser.add_argument(
        "--allow-any-data", action="store_true", help="accept data whose sha256 differs"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit code."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        train(
            TITANIC,
            args.data,
            args.models_dir,
            args.seed,
            args.version,
            not args.no_default,
            allow_any_data=args.allow_any_data,
        )
    except MLError as exc:
        log.error("training failed: %s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
