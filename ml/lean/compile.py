"""Compiling a fitted scikit-learn pipeline into a :class:`~ml.lean.scorer.LeanScorer`.

Supported: ``Pipeline([ColumnTransformer, classifier])`` whose transformers are
``[SimpleImputer] [StandardScaler]`` on numeric columns or
``SimpleImputer + OneHotEncoder`` on categorical columns. A logistic regression
and a binary HistGradientBoostingClassifier compile to numpy data (the scorer
can be saved as a lean artifact); any other classifier is called through its own
``predict_proba`` on the dense matrix (faster than the pipeline, but it needs
scikit-learn at scoring time). Anything else raises
:class:`~ml.errors.UnsupportedPipeline`.

This module imports scikit-learn: training, installing and the fallback of
older model versions use it; scoring workers load compiled scorers instead.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from ml.data.loading import coerce_features
from ml.errors import UnsupportedPipeline
from ml.lean.scorer import Block, CategoricalBlock, Head, LeanScorer, LogisticHead, NumericBlock
from ml.lean.trees import CompiledTrees
from ml.schema import FeatureSchema

log = logging.getLogger(__name__)

LEAN_TOLERANCE = 1e-9  # max absolute difference accepted between lean and sklearn probabilities


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


def _logistic_head(model: LogisticRegression) -> LogisticHead:
    coef_t = np.asarray(model.coef_, dtype=np.float64).T.copy()
    intercept = np.asarray(model.intercept_, dtype=np.float64).copy()
    if len(model.classes_) == 2 and coef_t.shape[1] != 1:
        raise UnsupportedPipeline("a binary LogisticRegression with several coefficient rows")
    return LogisticHead(coef_t=coef_t, intercept=intercept)


def _leaf_masks(nodes: np.ndarray, tree: int, values: list[float], splits: list[tuple]) -> int:
    """Number the leaves of one tree left to right; record each split and its leaf masks.

    Appends ``(tree, feature, threshold, missing_go_to_left, left_mask, right_mask)``
    to ``splits`` and each leaf's value to ``values``; returns the mask of all leaves.
    """
    stack: list[tuple[int, bool]] = [(0, False)]
    masks: dict[int, int] = {}
    while stack:  # post-order without recursion: children before their parent
        node, children_done = stack.pop()
        if nodes["is_leaf"][node]:
            masks[node] = 1 << len(values)
            values.append(float(nodes["value"][node]))
            continue
        left, right = int(nodes["left"][node]), int(nodes["right"][node])
        if not children_done:
            stack += [(node, True), (right, False), (left, False)]  # left is popped first
            continue
        masks[node] = masks[left] | masks[right]
        splits.append(
            (
                tree,
                int(nodes["feature_idx"][node]),
                float(nodes["num_threshold"][node]),
                bool(nodes["missing_go_to_left"][node]),
                masks[left],
                masks[right],
            )
        )
    return masks[0]


def compile_trees(model: HistGradientBoostingClassifier) -> CompiledTrees:
    """The bitmask tables of a fitted binary HistGradientBoostingClassifier.

    Relies on the fitted model's ``_predictors`` and ``_baseline_prediction``
    (stable since scikit-learn 0.21); anything unexpected raises UnsupportedPipeline.
    """
    predictors = getattr(model, "_predictors", None)
    baseline = getattr(model, "_baseline_prediction", None)
    if predictors is None or baseline is None:
        raise UnsupportedPipeline("HistGradientBoostingClassifier internals not found")
    if getattr(model, "n_trees_per_iteration_", None) != 1 or len(model.classes_) != 2:
        raise UnsupportedPipeline("only binary HistGradientBoostingClassifier is compiled")
    is_categorical = getattr(model, "is_categorical_", None)
    if is_categorical is not None and np.any(is_categorical):
        raise UnsupportedPipeline("native categorical features are not supported")
    trees = [iteration[0].nodes for iteration in predictors]
    if any(nodes["is_categorical"].any() for nodes in trees):
        raise UnsupportedPipeline("categorical splits are not supported")

    splits: list[tuple] = []
    tree_values: list[list[float]] = []
    full: list[int] = []
    for t, nodes in enumerate(trees):
        values: list[float] = []
        full.append(_leaf_masks(nodes, t, values, splits))
        tree_values.append(values)
    max_leaves = max((len(v) for v in tree_values), default=1)
    if max_leaves > 64:
        raise UnsupportedPipeline(f"a tree has {max_leaves} leaves; at most 64 are compiled")
    dtype = np.uint32 if max_leaves <= 32 else np.uint64
    leaves = np.array(full, dtype=dtype)
    leaf_values = np.zeros((len(trees), max_leaves))
    for t, values in enumerate(tree_values):
        leaf_values[t, : len(values)] = values

    features = sorted({split[1] for split in splits})
    thresholds: list[np.ndarray] = []
    tables: list[np.ndarray] = []
    for feature in features:
        mine = [split for split in splits if split[1] == feature]
        sorted_thresholds = np.unique([split[2] for split in mine])
        k = len(sorted_thresholds)
        table = np.empty((k + 2, len(trees)), dtype=dtype)
        table[:] = leaves
        for tree, _, threshold, missing_left, left, right in mine:
            j = int(np.searchsorted(sorted_thresholds, threshold))
            keep_left = dtype(int(full[tree]) & ~right)  # went left: the right subtree is out
            keep_right = dtype(int(full[tree]) & ~left)
            table[: j + 1, tree] &= keep_left  # bins 0..j: value <= threshold
            table[j + 1 : k + 1, tree] &= keep_right
            table[k + 1, tree] &= keep_left if missing_left else keep_right
        thresholds.append(sorted_thresholds)
        tables.append(table)
    bounds = np.cumsum([0] + [len(t) for t in thresholds])
    return CompiledTrees(
        features=np.array(features, dtype=np.intp),
        thresholds=np.concatenate(thresholds) if thresholds else np.empty(0),
        bounds=bounds,
        masks=np.concatenate(tables) if tables else np.empty((0, len(trees)), dtype=dtype),
        leaves=leaves,
        leaf_values=leaf_values,
        baseline=float(np.asarray(baseline).reshape(-1)[0]),
    )


def _head(estimator: object) -> Head:
    if isinstance(estimator, LogisticRegression):
        return _logistic_head(estimator)
    if isinstance(estimator, HistGradientBoostingClassifier):
        try:
            return compile_trees(estimator)
        except UnsupportedPipeline as exc:
            log.info("trees not compiled (%s); using predict_proba", exc)
    return estimator  # any fitted classifier: its own predict_proba on the dense matrix


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
    return LeanScorer(
        blocks, n_columns, _head(estimator), estimator.classes_, type(estimator).__name__
    )


def probe_rows(schema: FeatureSchema) -> list[dict]:
    """Rows exercising every schema edge: all missing, bounds, every category, unknowns."""
    low: dict[str, object] = {}
    high: dict[str, object] = {}
    unknown: dict[str, object] = {}
    rows: list[dict] = [{name: None for name in schema.feature_names}]
    for feature in schema.features:
        if feature.kind == "numeric":
            low[feature.name] = feature.minimum if feature.minimum is not None else -1e6
            high[feature.name] = feature.maximum if feature.maximum is not None else 1e6
            unknown[feature.name] = 0.0
        else:
            categories = feature.categories or []
            low[feature.name] = categories[0] if categories else None
            high[feature.name] = categories[-1] if categories else None
            unknown[feature.name] = "\x00unknown category"
            for category in categories:
                rows.append({**{n: None for n in schema.feature_names}, feature.name: category})
    return [*rows, low, high, unknown]


def check_agreement(
    lean: LeanScorer, pipeline: Pipeline, schema: FeatureSchema, frame: pd.DataFrame | None = None
) -> float:
    """The largest difference between lean and pipeline probabilities.

    Compared on the probe rows of the schema, and on ``frame`` (a DataFrame holding
    the feature columns) if given. Above :data:`LEAN_TOLERANCE`: UnsupportedPipeline.
    """
    numeric = [f.name for f in schema.features if f.kind == "numeric"]
    categorical = [f.name for f in schema.features if f.kind == "categorical"]
    names = schema.feature_names
    probes = probe_rows(schema)
    probe_frame = coerce_features(
        pd.DataFrame([[row[n] for n in names] for row in probes], columns=names),
        numeric,
        categorical,
    )
    pairs = [(lean.predict_proba_rows(probes), pipeline.predict_proba(probe_frame))]
    if frame is not None:
        typed = coerce_features(frame[names], numeric, categorical)
        pairs.append((lean.predict_proba_frame(typed), pipeline.predict_proba(typed)))
    worst = 0.0
    for actual, expected in pairs:
        if actual.shape != expected.shape:
            raise UnsupportedPipeline(f"lean scorer shape {actual.shape} != {expected.shape}")
        worst = max(worst, float(np.max(np.abs(actual - expected), initial=0.0)))
    if not worst <= LEAN_TOLERANCE:
        raise UnsupportedPipeline(f"lean scorer differs from the pipeline by {worst:.3g}")
    return worst


def lean_artifact_bytes(
    pipeline: Pipeline, schema: FeatureSchema, frame: pd.DataFrame | None = None
) -> bytes | None:
    """The lean artifact of a fitted pipeline, or None when it cannot have one.

    The scorer is compiled, saved, loaded back, and the loaded one checked
    against the pipeline (probe rows and ``frame``), so what scoring workers
    load is what was checked.
    """
    from ml.lean.artifact import dumps, loads

    try:
        data = dumps(compile_pipeline(pipeline))
        worst = check_agreement(loads(data), pipeline, schema, frame)
    except UnsupportedPipeline as exc:
        log.warning("no lean artifact (scoring will load scikit-learn): %s", exc)
        return None
    log.info("lean artifact: %d bytes, max difference from the pipeline %.3g", len(data), worst)
    return data
