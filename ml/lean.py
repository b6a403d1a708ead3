"""A numpy-only compilation of a fitted preprocessing pipeline, for fast scoring.

A scikit-learn ``Pipeline`` spends ~5 ms per call on a one-row DataFrame, almost
all of it input validation and pandas overhead. :func:`compile_pipeline`
extracts the fitted parameters (imputation values, scaling, one-hot maps,
column order) once, so scoring a handful of rows costs microseconds. The final
estimator's arithmetic follows: logistic regression is computed here (dot
product + sigmoid / softmax), a binary HistGradientBoostingClassifier through
:mod:`ml.lean_trees` (all trees walked at once), any other classifier through
its own ``predict_proba`` on the dense float matrix it was trained on.

Supported: ``Pipeline([ColumnTransformer, classifier])`` whose transformers are
``[SimpleImputer] [StandardScaler]`` on numeric columns or
``SimpleImputer + OneHotEncoder`` on categorical columns. Anything else raises
:class:`~ml.errors.UnsupportedPipeline`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, softmax
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ml.errors import UnsupportedPipeline
from ml.lean_trees import CompiledTrees

logger = logging.getLogger(__name__)

COMPILED_TREES_MAX_ROWS = 256  # above this, sklearn's own tree code is faster
ColumnGetter = Callable[[str], Sequence[object] | np.ndarray]


@dataclass(frozen=True)
class NumericBlock:
    """Numeric columns: optional imputation, then optional centring and scaling."""

    columns: list[str]
    fill: np.ndarray | None
    mean: np.ndarray | None
    scale: np.ndarray | None
    start: int

    @property
    def width(self) -> int:
        return len(self.columns)

    def write(self, out: np.ndarray, get_column: ColumnGetter) -> None:
        values = np.array([get_column(c) for c in self.columns], dtype=np.float64).T
        if self.fill is not None:
            values = np.where(np.isnan(values), self.fill, values)
        if self.mean is not None:
            values -= self.mean
        if self.scale is not None:
            values /= self.scale
        out[:, self.start : self.start + self.width] = values


@dataclass(frozen=True)
class CategoricalBlock:
    """Categorical columns: imputation of missing values, then one-hot encoding.

    An unknown category encodes as all zeros (``handle_unknown="ignore"``).
    """

    columns: list[str]
    fill: list[object]
    offsets: list[dict[object, int]]
    start: int
    width: int

    def write(self, out: np.ndarray, get_column: ColumnGetter) -> None:
        for values, fill, offsets in zip(
            map(get_column, self.columns), self.fill, self.offsets, strict=True
        ):
            for row, value in enumerate(values):
                position = offsets.get(fill if _is_missing(value) else value)
                if position is not None:
                    out[row, self.start + position] = 1.0


def _is_missing(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


Block = NumericBlock | CategoricalBlock


class LeanScorer:
    """Scores rows (list of dicts) or a DataFrame with the compiled pipeline."""

    def __init__(
        self,
        blocks: list[Block],
        n_columns: int,
        predict_proba: Callable[[np.ndarray], np.ndarray],
        classes: np.ndarray,
        estimator_name: str,
    ) -> None:
        self.blocks = blocks
        self.n_columns = n_columns
        self.classes = classes
        self.estimator_name = estimator_name
        self._predict_proba = predict_proba

    def transform(self, get_column: ColumnGetter, n_rows: int) -> np.ndarray:
        """The estimator's input matrix, as the fitted preprocessing would produce it."""
        out = np.zeros((n_rows, self.n_columns), dtype=np.float64)
        for block in self.blocks:
            block.write(out, get_column)
        return out

    def predict_proba_rows(self, rows: Sequence[dict]) -> np.ndarray:
        """Class probabilities for dict rows (missing values as ``None``)."""
        matrix = self.transform(lambda name: [row[name] for row in rows], len(rows))
        return self._predict_proba(matrix)

    def predict_proba_frame(self, df: pd.DataFrame) -> np.ndarray:
        """Class probabilities for a DataFrame holding the feature columns."""
        matrix = self.transform(lambda name: df[name].to_numpy(), len(df))
        return self._predict_proba(matrix)


def _steps(transformer: object) -> list[object]:
    if isinstance(transformer, Pipeline):
        return [step for _, step in transformer.steps if step not in (None, "passthrough")]
    return [transformer]


def _check_imputer(imputer: SimpleImputer) -> None:
    missing = imputer.missing_values
    if not (isinstance(missing, float) and math.isnan(missing)):
        raise UnsupportedPipeline("SimpleImputer must use missing_values=np.nan")
    if imputer.add_indicator:
        raise UnsupportedPipeline("SimpleImputer(add_indicator=True) is not supported")


def _numeric_block(columns: list[str], steps: list[object], start: int) -> NumericBlock:
    fill = mean = scale = None
    remaining = list(steps)
    if remaining and isinstance(remaining[0], SimpleImputer):
        imputer = remaining.pop(0)
        _check_imputer(imputer)
        fill = np.asarray(imputer.statistics_, dtype=np.float64)
        if np.isnan(fill).any():
            raise UnsupportedPipeline("SimpleImputer dropped a column with no observed values")
    if remaining and isinstance(remaining[0], StandardScaler):
        scaler = remaining.pop(0)
        mean = None if scaler.mean_ is None or not scaler.with_mean else scaler.mean_.copy()
        scale = None if scaler.scale_ is None or not scaler.with_std else scaler.scale_.copy()
    if remaining:
        names = [type(step).__name__ for step in remaining]
        raise UnsupportedPipeline(f"unsupported numeric steps for {columns}: {names}")
    return NumericBlock(columns=columns, fill=fill, mean=mean, scale=scale, start=start)


def _categorical_block(columns: list[str], steps: list[object], start: int) -> CategoricalBlock:
    if (
        len(steps) != 2
        or not isinstance(steps[0], SimpleImputer)
        or not isinstance(steps[1], OneHotEncoder)
    ):
        names = [type(step).__name__ for step in steps]
        raise UnsupportedPipeline(f"categorical columns {columns} need imputer + one-hot: {names}")
    imputer, encoder = steps
    _check_imputer(imputer)
    if encoder.drop_idx_ is not None:
        raise UnsupportedPipeline("OneHotEncoder(drop=...) is not supported")
    if getattr(encoder, "_infrequent_enabled", False):
        raise UnsupportedPipeline("OneHotEncoder infrequent categories are not supported")
    if encoder.handle_unknown not in ("ignore", "warn", "infrequent_if_exist"):
        raise UnsupportedPipeline("OneHotEncoder must ignore unknown categories")
    offsets: list[dict[object, int]] = []
    position = 0
    for categories in encoder.categories_:
        offsets.append({value: position + i for i, value in enumerate(categories)})
        position += len(categories)
    return CategoricalBlock(
        columns=columns,
        fill=list(imputer.statistics_),
        offsets=offsets,
        start=start,
        width=position,
    )


def _logistic_proba(model: LogisticRegression) -> Callable[[np.ndarray], np.ndarray]:
    coef_t = model.coef_.T.copy()
    intercept = model.intercept_.copy()
    if len(model.classes_) == 2:

        def binary(matrix: np.ndarray) -> np.ndarray:
            positive = expit((matrix @ coef_t + intercept).reshape(-1))
            return np.stack([1 - positive, positive], axis=1)

        return binary

    def multinomial(matrix: np.ndarray) -> np.ndarray:
        return softmax(matrix @ coef_t + intercept, axis=1)

    return multinomial


def _trees_proba(model: HistGradientBoostingClassifier) -> Callable[[np.ndarray], np.ndarray]:
    """Compiled trees for small inputs; the model's parallel C code for large ones."""
    try:
        trees = CompiledTrees(model)
    except UnsupportedPipeline as exc:
        logger.info("trees not compiled (%s); using predict_proba", exc)
        return model.predict_proba

    def predict_proba(matrix: np.ndarray) -> np.ndarray:
        if len(matrix) <= COMPILED_TREES_MAX_ROWS:
            return trees.predict_proba(matrix)
        return model.predict_proba(matrix)

    return predict_proba


def compile_pipeline(pipeline: object) -> LeanScorer:
    """Compile a fitted ``Pipeline([ColumnTransformer, classifier])`` into a LeanScorer."""
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        raise UnsupportedPipeline("expected Pipeline([ColumnTransformer, classifier])")
    preprocess, estimator = pipeline.steps[0][1], pipeline.steps[1][1]
    if not isinstance(preprocess, ColumnTransformer):
        raise UnsupportedPipeline(
            f"first step is {type(preprocess).__name__}, not ColumnTransformer"
        )
    if not hasattr(estimator, "predict_proba") or not hasattr(estimator, "classes_"):
        raise UnsupportedPipeline(f"{type(estimator).__name__} is not a fitted classifier")
    if getattr(estimator, "feature_names_in_", None) is not None:
        raise UnsupportedPipeline("the classifier was fitted on a DataFrame, not an array")

    blocks: list[Block] = []
    for name, transformer, columns in preprocess.transformers_:
        if isinstance(transformer, str):
            if transformer == "drop" or len(columns) == 0:
                continue
            raise UnsupportedPipeline(f"transformer {name!r} is {transformer!r}")
        if not all(isinstance(c, str) for c in columns):
            raise UnsupportedPipeline(f"transformer {name!r} selects columns by position")
        steps = _steps(transformer)
        start = preprocess.output_indices_[name].start
        if steps and isinstance(steps[-1], OneHotEncoder):
            block: Block = _categorical_block(list(columns), steps, start)
        else:
            block = _numeric_block(list(columns), steps, start)
        if preprocess.output_indices_[name].stop - start != block.width:
            raise UnsupportedPipeline(f"transformer {name!r} output width mismatch")
        blocks.append(block)

    n_columns = sum(block.width for block in blocks)
    if n_columns != estimator.n_features_in_:
        raise UnsupportedPipeline(
            f"compiled {n_columns} columns, the classifier expects {estimator.n_features_in_}"
        )
    if isinstance(estimator, LogisticRegression):
        predict_proba = _logistic_proba(estimator)
    elif isinstance(estimator, HistGradientBoostingClassifier):
        predict_proba = _trees_proba(estimator)
    else:
        predict_proba = estimator.predict_proba
    return LeanScorer(
        blocks, n_columns, predict_proba, estimator.classes_, type(estimator).__name__
    )
