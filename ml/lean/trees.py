"""Scoring the trees of a binary gradient-boosting classifier with numpy alone.

The trees are compiled (by :mod:`ml.lean.compile`, from a fitted
``HistGradientBoostingClassifier``) into bitmask tables, after QuickScorer
(Lucchese et al., SIGIR 2015). The leaves of each tree are numbered left to
right; every split node eliminates the leaves of the subtree a row does not
enter. For one feature, the thresholds of all its split nodes are sorted, and
a row's value falls into one bin of them (or the missing-value bin); the table
row of that bin holds, per tree, the leaves that survive every split on that
feature. ANDing the rows of every feature leaves exactly one leaf per tree:
the leaf scikit-learn's tree walk reaches (a leaf off that path is removed by
the split where its path leaves the row's). Scoring is then a few table look-ups
per feature, for all trees and rows at once; the leaf values are added in
scikit-learn's order (baseline, then tree by tree) and mapped through the
logistic function of :mod:`ml.lean.maths`, so the probabilities are exactly
scikit-learn's. Splits follow scikit-learn: ``x <= threshold`` goes left, a
missing value goes where the node's ``missing_go_to_left`` says.
"""

from __future__ import annotations

import math
from bisect import bisect_left

import numpy as np

from ml.errors import ArtifactIntegrityError
from ml.lean.maths import expit

# rows scored at a time: keeps the (rows x trees) arrays in cache and small enough that
# the allocator reuses their memory (at 1,000 rows a call faulted in ~2 MB of fresh
# pages, which cost more than the arithmetic)
ROWS_PER_STEP = 512
# up to this many rows, a row's bins are found in Python and the trees' values added by
# one accumulate: numpy's per-call cost dominates there (``python -m bench.lean_rows``,
# 100 trees: 1 row in 22 µs instead of 196, 32 rows 0.67x, 64 rows 1.05x)
FEW_ROWS = 32
MASK_DTYPES = (np.uint32, np.uint64)  # leaves per tree: at most 32, or at most 64


class CompiledTrees:
    """The trees of a binary gradient-boosting classifier as bitmask tables.

    ``features[i]`` is the input column of the i-th table; its sorted thresholds are
    ``thresholds[bounds[i]:bounds[i + 1]]`` and its table rows (one per bin, then
    one for a missing value) ``masks[bounds[i] + 2 * i : bounds[i + 1] + 2 * (i + 1)]``.
    ``leaves[t]`` holds the leaves of tree ``t`` that exist; ``leaf_values[t, k]``
    is the value of its k-th leaf.
    """

    def __init__(
        self,
        *,
        features: np.ndarray,
        thresholds: np.ndarray,
        bounds: np.ndarray,
        masks: np.ndarray,
        leaves: np.ndarray,
        leaf_values: np.ndarray,
        baseline: float,
    ) -> None:
        self.features = np.asarray(features, dtype=np.intp)
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        self.bounds = np.asarray(bounds, dtype=np.intp)
        self.masks = masks
        self.leaves = leaves
        self.leaf_values = np.asarray(leaf_values, dtype=np.float64)
        self.baseline = float(baseline)
        self._check()
        n_trees, max_leaves = self.leaf_values.shape
        self._leaf_offsets = np.arange(n_trees, dtype=np.intp) * max_leaves
        self._flat_values = self.leaf_values.ravel()
        self._tables = [
            (
                int(feature),
                self.thresholds[self.bounds[i] : self.bounds[i + 1]],
                self.masks[self.bounds[i] + 2 * i : self.bounds[i + 1] + 2 * (i + 1)],
            )
            for i, feature in enumerate(self.features)
        ]
        # per table: its column, its thresholds as floats, its first table row, and the
        # bin of a missing value (after the len(thresholds) + 1 bins of values)
        self._few_tables = [
            (feature, thresholds.tolist(), int(self.bounds[i]) + 2 * i, len(thresholds) + 1)
            for i, (feature, thresholds, _) in enumerate(self._tables)
        ]

    def _check(self) -> None:
        n_tables = len(self.features)
        n_trees = len(self.leaves)
        if self.masks.dtype not in MASK_DTYPES or self.leaves.dtype != self.masks.dtype:
            raise ArtifactIntegrityError(f"tree masks have dtype {self.masks.dtype}")
        if (
            self.bounds.shape != (n_tables + 1,)
            or self.bounds[0] != 0
            or self.bounds[-1] != len(self.thresholds)
            or np.any(np.diff(self.bounds) < 1)
            or self.masks.shape != (len(self.thresholds) + 2 * n_tables, n_trees)
            or self.leaf_values.ndim != 2
            or len(self.leaf_values) != n_trees
            or self.leaf_values.shape[1] > 8 * self.masks.dtype.itemsize
        ):
            raise ArtifactIntegrityError("compiled trees: inconsistent array shapes")

    @property
    def n_trees(self) -> int:
        return len(self.leaves)

    def n_features_needed(self) -> int:
        """Columns an input matrix must have at least."""
        return int(self.features.max()) + 1 if len(self.features) else 0

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The arrays that rebuild this object through :meth:`from_arrays`."""
        return {
            "features": self.features.astype(np.int64),
            "thresholds": self.thresholds,
            "bounds": self.bounds.astype(np.int64),
            "masks": self.masks,
            "leaves": self.leaves,
            "leaf_values": self.leaf_values,
            "baseline": np.array(self.baseline),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> CompiledTrees:
        return cls(
            features=arrays["features"],
            thresholds=arrays["thresholds"],
            bounds=arrays["bounds"],
            masks=arrays["masks"],
            leaves=arrays["leaves"],
            leaf_values=arrays["leaf_values"],
            baseline=float(arrays["baseline"]),
        )

    def leaf_indices(self, matrix: np.ndarray) -> np.ndarray:
        """Per row and tree, the index into ``leaf_values.ravel()`` of the leaf reached."""
        n_rows = len(matrix)
        survivors = np.empty((n_rows, self.n_trees), dtype=self.masks.dtype)
        survivors[:] = self.leaves
        rows = np.empty_like(survivors)  # one table's rows per row of the matrix
        for feature, thresholds, masks in self._tables:
            column = matrix[:, feature]
            bins = np.searchsorted(thresholds, column)  # x <= threshold[j] goes left <=> bin <= j
            missing = np.isnan(column)
            if missing.any():
                bins[missing] = len(thresholds) + 1
            np.take(masks, bins, axis=0, out=rows)
            survivors &= rows
        return self._leaf_positions(survivors)

    def _leaf_positions(self, survivors: np.ndarray) -> np.ndarray:
        """The index into ``leaf_values.ravel()`` of each tree's one surviving leaf."""
        # one bit is left per tree: its position is the exponent of the power of two (a
        # power of two up to 2**63 is exact in float32)
        _, exponent = np.frexp(survivors.astype(np.float32))
        exponent -= 1
        exponent += self._leaf_offsets
        return exponent

    def _table_rows(self, row: list[float]) -> list[int]:
        """The table row of each table that one matrix row falls in: its bin by
        ``bisect_left``, as ``searchsorted`` finds it (``x <= threshold[j]`` goes left)."""
        picked = []
        for feature, thresholds, first, missing in self._few_tables:
            value = row[feature]
            picked.append(
                first + (missing if math.isnan(value) else bisect_left(thresholds, value))
            )
        return picked

    def _leaf_indices_few(self, matrix: np.ndarray) -> np.ndarray:
        """:meth:`leaf_indices` of a few rows: one look-up of every table row they fall in
        and one AND across them."""
        picked = self.masks[[self._table_rows(row) for row in matrix.tolist()]]
        survivors = np.bitwise_and.reduce(picked, axis=1)
        survivors &= self.leaves
        return self._leaf_positions(survivors)

    def _raw_few(self, matrix: np.ndarray) -> np.ndarray:
        """:meth:`raw` of a few rows: the baseline and the leaf values of each row added in
        scikit-learn's order by one ``add.accumulate`` (a running sum, element after element)."""
        sums = np.empty((len(matrix), self.n_trees + 1))
        sums[:, 0] = self.baseline
        sums[:, 1:] = self._flat_values[self._leaf_indices_few(matrix)]
        np.add.accumulate(sums, axis=1, out=sums)
        return sums[:, -1].copy()

    def raw(self, matrix: np.ndarray) -> np.ndarray:
        """Baseline plus the sum of leaf values per row (the model's raw prediction)."""
        matrix = np.asarray(matrix, dtype=np.float64)
        if 0 < len(matrix) <= FEW_ROWS:
            return self._raw_few(matrix)
        out = np.empty(len(matrix))
        for start in range(0, len(matrix), ROWS_PER_STEP):
            part = matrix[start : start + ROWS_PER_STEP]
            # one row of leaf values per tree, added one tree after the other, in
            # scikit-learn's order (a cumulative sum along each row costs twice as much)
            values = self._flat_values[self.leaf_indices(part).T]
            total = out[start : start + len(part)]
            total[:] = self.baseline
            for tree_values in values:
                total += tree_values
        return out

    def predict_proba(self, matrix: np.ndarray) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        positive = expit(self.raw(matrix))
        proba = np.empty((len(positive), 2))
        proba[:, 1] = positive
        proba[:, 0] = 1 - positive
        return proba
