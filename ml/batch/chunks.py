"""Scoring one chunk of an uploaded CSV: validate every row, score the good ones, flag the rest.

Pure functions over pyarrow tables and numpy arrays (no Redis, no Celery, no
files): :mod:`ml.batch.parts` streams chunks through :class:`ChunkScorer`.

A chunk arrives with every column as text. Each feature column is checked
against the model's feature schema with vectorised operations, the same rules
as the JSON API (:mod:`ml.schema`): numbers, integers, ranges, categories,
nullability. A row that breaks a rule keeps its place in the output with empty
``prediction`` and probabilities and an ``error`` naming every bad field.

The good rows are turned into the classifier's input matrix by the compiled
preprocessing of :mod:`ml.lean.scorer` (one-hot encoding vectorised here), then scored
by the lean scorer's classifier head (numpy only; its probabilities are exactly
the pipeline's). A model version without a lean scorer is scored through
``pipeline.predict_proba`` on a DataFrame (loading scikit-learn and pandas).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ml.batch.columns import ERROR_COLUMN, PREDICTION_COLUMN, PROBA_PREFIX, ROW_COLUMN
from ml.lean.process import keep_pyarrow_from_importing_pandas
from ml.lean.scorer import CategoricalBlock, NumericBlock
from ml.model import Model
from ml.schema import Feature

# a batch-scoring process needs no pandas: its pyarrow calls must not import it either
# (untyped lists and ``to_numpy`` would too: arrays are typed, read by _to_numpy)
keep_pyarrow_from_importing_pandas()

# field values read as missing (besides the empty field); "?" is the reference data's marker
MISSING_VALUES = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "?")
MAX_ERROR_EXAMPLES = 5  # bad rows quoted in a job's summary
_MISSING_SET = pa.array(MISSING_VALUES, pa.string())


def output_columns(
    id_column: str | None, extra_columns: Sequence[str], class_labels: Sequence[str]
) -> list[str]:
    """Columns of the scored file, in order."""
    return [
        id_column or ROW_COLUMN,
        *extra_columns,
        PREDICTION_COLUMN,
        *(PROBA_PREFIX + label for label in class_labels),
        ERROR_COLUMN,
    ]


@dataclass
class ChunkOutcome:
    """What scoring one chunk produced."""

    table: pa.Table
    rows: int
    failed: int
    examples: list[tuple[object, str]] = field(default_factory=list)  # (row or id, error)


class _Checked:
    """Per-row validity of one chunk's features, and their typed values."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.errors = np.full(n, "", dtype=object)
        self.bad = np.zeros(n, dtype=bool)
        self.numeric: dict[str, np.ndarray] = {}
        self.codes: dict[str, np.ndarray] = {}

    def flag(self, mask: np.ndarray, name: str, message: str) -> None:
        if mask.any():
            self.errors[mask] = self.errors[mask] + f"{name}: {message}; "
            self.bad |= mask


def _to_numpy(array: pa.Array, dtype: type[np.generic]) -> np.ndarray:
    """A fixed-width array without nulls as a (read-only) numpy view of its data buffer.

    pyarrow's own ``to_numpy`` goes through its pandas conversion code, which
    imports pandas (~110 MB) into a scoring process that has no other use for it.
    """
    size = np.dtype(dtype).itemsize
    if array.null_count or array.type.byte_width != size:
        raise ValueError(f"no {np.dtype(dtype)} view of a {array.type} array (or with nulls)")
    return np.frombuffer(
        array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * size
    )


def _missing(column: pa.Array) -> np.ndarray:
    found = pc.is_in(column, value_set=_MISSING_SET)  # booleans are bits: cast to bytes
    return _to_numpy(pc.cast(found, pa.uint8()), np.uint8).astype(bool)


def _to_float(column: pa.Array, missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values with NaN where missing or not a number, mask of non-numbers)."""
    nulled = pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), column)
    try:
        numbers = pc.fill_null(pc.cast(nulled, pa.float64()), np.nan)
        values = _to_numpy(numbers, np.float64).copy()
        return values, np.zeros(len(values), dtype=bool)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    # slow path, only for a chunk holding a non-number: one value at a time
    texts = nulled.to_pylist()
    values = np.full(len(texts), np.nan)
    not_number = np.zeros(len(texts), dtype=bool)
    for i, text in enumerate(texts):
        if text is None:
            continue
        try:
            values[i] = float(text)
        except ValueError:
            not_number[i] = True
    return values, not_number


def _format(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _check_numeric(checked: _Checked, feature: Feature, column: pa.Array) -> None:
    missing = _missing(column)
    values, not_number = _to_float(column, missing)
    checked.flag(not_number, feature.name, "must be a number")
    present = ~missing & ~not_number
    with np.errstate(invalid="ignore"):
        infinite = present & ~np.isfinite(values)
        checked.flag(infinite, feature.name, "must be a finite number")
        finite = present & ~infinite
        if feature.integer:
            checked.flag(finite & (values != np.floor(values)), feature.name, "must be an integer")
        lo, hi = feature.minimum, feature.maximum
        out = np.zeros(checked.n, dtype=bool)
        if lo is not None:
            out |= finite & (values < lo)
        if hi is not None:
            out |= finite & (values > hi)
    lo_text = "-inf" if lo is None else _format(lo)
    hi_text = "inf" if hi is None else _format(hi)
    checked.flag(out, feature.name, f"must be between {lo_text} and {hi_text}")
    if not feature.nullable:
        checked.flag(missing, feature.name, "may not be null")
    values[missing | not_number] = np.nan
    checked.numeric[feature.name] = values


def _check_categorical(checked: _Checked, feature: Feature, column: pa.Array) -> None:
    categories = list(feature.categories or [])
    missing = _missing(column)
    index = pc.index_in(column, value_set=pa.array(categories, pa.string()))
    codes = _to_numpy(index.fill_null(-1), np.int32).astype(np.intp)
    listing = ", ".join(repr(c) for c in sorted(categories))
    checked.flag(~missing & (codes < 0), feature.name, f"must be one of: {listing}")
    if not feature.nullable:
        checked.flag(missing, feature.name, "may not be null")
    codes[missing] = -1
    checked.codes[feature.name] = codes


def check_features(model: Model, table: pa.Table) -> _Checked:
    """Validate the feature columns of a chunk read as text."""
    checked = _Checked(table.num_rows)
    for feature in model.schema.features:
        column = table.column(feature.name).combine_chunks()
        if feature.kind == "numeric":
            _check_numeric(checked, feature, column)
        else:
            _check_categorical(checked, feature, column)
    return checked


def _one_hot(block: CategoricalBlock, out: np.ndarray, model: Model, checked: _Checked) -> None:
    """Vectorised :meth:`CategoricalBlock.write` for category codes (-1 for missing)."""
    rows = np.arange(out.shape[0])
    for name, fill, offsets in zip(block.columns, block.fill, block.offsets, strict=True):
        categories = model.schema.features[model.schema.feature_names.index(name)].categories
        # position of each schema category (then of the imputed fill, for code -1)
        table = np.array(
            [offsets.get(c, -1) for c in categories or []] + [offsets.get(fill, -1)],
            dtype=np.intp,
        )
        positions = table[checked.codes[name][_good(checked)]]
        hit = positions >= 0
        out[rows[hit], block.start + positions[hit]] = 1.0


def _good(checked: _Checked) -> np.ndarray:
    return ~checked.bad


def predict_proba_checked(model: Model, checked: _Checked) -> np.ndarray:
    """Class probabilities of the chunk's good rows (columns in ``class_labels`` order)."""
    good = _good(checked)
    n = int(good.sum())
    lean = model.lean
    if lean is None:
        return _predict_with_pipeline(model, checked, good)
    matrix = np.zeros((n, lean.n_columns), dtype=np.float64)
    for block in lean.blocks:
        if isinstance(block, NumericBlock):
            block.write(matrix, lambda name: checked.numeric[name][good])
        else:
            _one_hot(block, matrix, model, checked)
    return lean.predict_proba_matrix(matrix)


def _predict_with_pipeline(model: Model, checked: _Checked, good: np.ndarray) -> np.ndarray:
    import pandas as pd

    columns: dict[str, object] = {}
    for feature in model.schema.features:
        if feature.kind == "numeric":
            columns[feature.name] = checked.numeric[feature.name][good]
        else:
            categories = np.array([*(feature.categories or []), np.nan], dtype=object)
            columns[feature.name] = categories[checked.codes[feature.name][good]]
    return model.pipeline.predict_proba(pd.DataFrame(columns, columns=model.schema.feature_names))


class ChunkScorer:
    """Turns chunks of an uploaded file (all columns text) into chunks of the scored file.

    With ``sample_every`` > 0, every good row whose number is a multiple of it is also
    kept in :attr:`sampled` (row number, features, prediction, probabilities), for the
    prediction log: the same rows whichever worker scores them, however often.
    """

    def __init__(
        self,
        model: Model,
        id_column: str | None,
        extra_columns: Sequence[str],
        sample_every: int = 0,
    ) -> None:
        self.model = model
        self.sample_every = sample_every
        self.sampled: list[dict[str, object]] = []
        self.id_column = id_column
        self.extra_columns = list(extra_columns)
        self.columns = output_columns(id_column, self.extra_columns, model.class_labels)
        fields = [pa.field(self.columns[0], pa.string() if id_column else pa.int64())]
        fields += [pa.field(name, pa.string()) for name in self.extra_columns]
        fields.append(pa.field(PREDICTION_COLUMN, pa.string()))
        fields += [pa.field(PROBA_PREFIX + c, pa.float64()) for c in model.class_labels]
        fields.append(pa.field(ERROR_COLUMN, pa.string()))
        self.schema = pa.schema(fields)
        self._labels = np.array(model.class_labels, dtype=object)

    def score(self, table: pa.Table, row_numbers: np.ndarray) -> ChunkOutcome:
        """Score a chunk whose rows have the given input line numbers."""
        n = table.num_rows
        checked = check_features(self.model, table)
        bad = checked.bad
        n_failed = int(bad.sum())
        proba = np.full((n, len(self._labels)), np.nan)
        labels = np.full(n, None, dtype=object)
        if n_failed < n:
            good_proba = predict_proba_checked(self.model, checked)
            proba[~bad] = good_proba
            labels[~bad] = self._labels[np.argmax(good_proba, axis=1)]
        if self.sample_every:
            self._sample(checked, row_numbers, labels, proba)
        errors = np.where(bad, checked.errors, None)
        if n_failed:
            errors[bad] = [e[:-2] for e in checked.errors[bad]]  # drop the trailing "; "
        key = (
            table.column(self.id_column)
            if self.id_column
            else pa.array(row_numbers, type=pa.int64())
        )
        columns: list[object] = [key, *(table.column(c) for c in self.extra_columns)]
        columns.append(pa.array(labels, type=pa.string()))
        columns += [pa.array(proba[:, k], mask=bad) for k in range(len(self._labels))]
        columns.append(pa.array(errors, type=pa.string()))
        out = pa.Table.from_arrays(columns, schema=self.schema)
        examples: list[tuple[object, str]] = []
        for i in np.flatnonzero(bad)[:MAX_ERROR_EXAMPLES]:
            examples.append((key[int(i)].as_py(), errors[i]))
        return ChunkOutcome(out, n, n_failed, examples)

    def _sample(
        self, checked: _Checked, row_numbers: np.ndarray, labels: np.ndarray, proba: np.ndarray
    ) -> None:
        picked = np.flatnonzero(~checked.bad & (row_numbers % self.sample_every == 0))
        if not len(picked):
            return
        features: dict[str, list[object]] = {}
        for feature in self.model.schema.features:
            if feature.kind == "numeric":
                values = checked.numeric[feature.name][picked]
                features[feature.name] = [None if math.isnan(v) else v for v in values.tolist()]
            else:
                names = [*(feature.categories or []), None]  # code -1: missing
                features[feature.name] = [names[c] for c in checked.codes[feature.name][picked]]
        class_labels = list(self.model.class_labels)
        for k, i in enumerate(picked.tolist()):
            self.sampled.append(
                {
                    "row": int(row_numbers[i]),
                    "features": {name: column[k] for name, column in features.items()},
                    "prediction": labels[i],
                    "probabilities": dict(zip(class_labels, proba[i].tolist(), strict=True)),
                }
            )

    def unreadable(self, rows: list[tuple[int, object, list[str | None], str]]) -> pa.Table:
        """Output rows for lines that could not be parsed: (line, id, extras, error)."""
        key = [r[1] if self.id_column else r[0] for r in rows]
        columns: list[object] = [pa.array(key, type=self.schema.field(0).type)]
        for k in range(len(self.extra_columns)):
            columns.append(pa.array([r[2][k] for r in rows], type=pa.string()))
        columns.append(pa.nulls(len(rows), pa.string()))
        columns += [pa.nulls(len(rows), pa.float64()) for _ in self._labels]
        columns.append(pa.array([r[3] for r in rows], type=pa.string()))
        return pa.Table.from_arrays(columns, schema=self.schema)
