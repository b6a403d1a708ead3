"""The lean scorer: a fitted pipeline's arithmetic with numpy alone, for fast, light scoring.

A scikit-learn ``Pipeline`` spends ~5 ms per call on a one-row DataFrame, almost
all of it input validation and pandas overhead, and a process that imports
scikit-learn holds ~240 MB. A :class:`LeanScorer` holds the fitted parameters
(imputation values, scaling, one-hot maps, column order) and a classifier head:
a logistic regression (:class:`LogisticHead`: dot product + sigmoid / softmax)
or binary gradient-boosted trees (:class:`~ml.lean.trees.CompiledTrees`), so
scoring needs numpy only and its probabilities equal the pipeline's exactly.

This module never imports scikit-learn, scipy or pandas: scoring worker
processes stay lean. :mod:`ml.lean.compile` builds a scorer from a fitted
pipeline (and imports scikit-learn); :mod:`ml.lean.artifact` saves and loads it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ml.lean.maths import expit, softmax
from ml.lean.trees import CompiledTrees

ColumnGetter = Callable[[str], Sequence[object] | np.ndarray]


class Head(Protocol):
    """The classifier part: class probabilities of the preprocessed matrix."""

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray: ...


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
            position = offsets.get
            # every value looked up at once (a C loop): most are known strings
            hits: list[int | None] = list(map(position, values))
            if None in hits:  # missing values (imputed) or unknown categories (all zeros)
                hits = [
                    hit
                    if hit is not None or type(v) is str
                    else position(fill if is_missing(v) else v)
                    for hit, v in zip(hits, values, strict=True)
                ]
            if None in hits:
                rows = [row for row, hit in enumerate(hits) if hit is not None]
                cols = np.array([hits[row] for row in rows], dtype=np.intp)
                out[rows, self.start + cols] = 1.0
            elif hits:
                cols = np.array(hits, dtype=np.intp)
                out[np.arange(len(hits)), self.start + cols] = 1.0


def is_missing(value: object) -> bool:
    """None, a float NaN, or pandas' NA (recognised without importing pandas)."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ == "NAType"


Block = NumericBlock | CategoricalBlock


@dataclass(frozen=True)
class LogisticHead:
    """A fitted logistic regression: ``matrix @ coef.T + intercept`` through the link."""

    coef_t: np.ndarray  # (n_columns, 1) for two classes, (n_columns, n_classes) otherwise
    intercept: np.ndarray

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        scores = matrix @ self.coef_t + self.intercept
        if self.coef_t.shape[1] == 1:
            positive = expit(scores.reshape(-1))
            return np.stack([1 - positive, positive], axis=1)
        return softmax(scores)


class LeanScorer:
    """Scores rows (list of dicts), a DataFrame or a preprocessed matrix."""

    def __init__(
        self,
        blocks: list[Block],
        n_columns: int,
        head: Head,
        classes: np.ndarray,
        estimator_name: str,
    ) -> None:
        self.blocks = blocks
        self.n_columns = n_columns
        self.head = head
        self.classes = classes
        self.estimator_name = estimator_name

    @property
    def portable(self) -> bool:
        """Whether the head is numpy data (so the scorer can be saved as an artifact)."""
        return isinstance(self.head, LogisticHead | CompiledTrees)

    def transform(self, get_column: ColumnGetter, n_rows: int) -> np.ndarray:
        """The estimator's input matrix, as the fitted preprocessing would produce it."""
        out = np.zeros((n_rows, self.n_columns), dtype=np.float64)
        for block in self.blocks:
            block.write(out, get_column)
        return out

    def predict_proba_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Class probabilities for the preprocessed matrix (see :meth:`transform`)."""
        return self.head.predict_proba(matrix)

    def predict_proba_rows(self, rows: Sequence[dict]) -> np.ndarray:
        """Class probabilities for dict rows (missing values as ``None``)."""
        matrix = self.transform(lambda name: [row[name] for row in rows], len(rows))
        return self.head.predict_proba(matrix)

    def predict_proba_frame(self, df: Any) -> np.ndarray:
        """Class probabilities for a DataFrame holding the feature columns."""
        matrix = self.transform(lambda name: df[name].to_numpy(), len(df))
        return self.head.predict_proba(matrix)
