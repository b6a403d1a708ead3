"""The lean scorer reproduces scikit-learn's predict_proba exactly, for every candidate."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from ml.data.loading import coerce_features
from ml.data.spec import TITANIC
from ml.errors import UnsupportedPipeline
from ml.lean import trees
from ml.lean.artifact import dumps, loads
from ml.lean.compile import compile_pipeline
from ml.lean.maths import expit
from ml.lean.scorer import LeanScorer
from ml.pipelines import CANDIDATES

NUMERIC = list(TITANIC.numeric_features)
CATEGORICAL = list(TITANIC.categorical_features)
FEATURES = list(TITANIC.features)


@pytest.fixture(scope="module", params=sorted(CANDIDATES))
def fitted(request: pytest.FixtureRequest, titanic: pd.DataFrame) -> Pipeline:
    pipeline = CANDIDATES[request.param](NUMERIC, CATEGORICAL, 42)
    return pipeline.fit(titanic[FEATURES], titanic[TITANIC.target])


def as_rows(frame: pd.DataFrame) -> list[dict]:
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def as_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame([[row[f] for f in FEATURES] for row in rows], columns=FEATURES)
    return coerce_features(frame, NUMERIC, CATEGORICAL)


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    """Bit for bit: the lean scorer does scikit-learn's arithmetic in scikit-learn's order."""
    np.testing.assert_array_equal(actual, expected, strict=True)


def in_batches(score: Callable[[Any], np.ndarray], items: Any, size: int) -> np.ndarray:
    return np.concatenate([score(items[i : i + size]) for i in range(0, len(items), size)])


@pytest.fixture(scope="module")
def saved(fitted: Pipeline) -> LeanScorer:
    """The scorer as a scoring worker gets it: saved as a lean artifact and loaded back."""
    return loads(dumps(compile_pipeline(fitted)))


def test_lean_equals_sklearn_on_every_dataset_row(fitted: Pipeline, titanic: pd.DataFrame) -> None:
    frame = titanic[FEATURES]
    expected = fitted.predict_proba(frame)
    lean = compile_pipeline(fitted)
    assert_same(lean.predict_proba_frame(frame), expected)
    assert_same(lean.predict_proba_rows(as_rows(frame)), expected)
    # a matrix product's rounding depends on the number of rows (BLAS picks its kernel
    # by shape) in scikit-learn too: smaller calls are compared with calls of that size
    for size, n in ((1, 40), (256, len(frame))):
        assert_same(
            in_batches(lean.predict_proba_rows, as_rows(frame[:n]), size),
            in_batches(fitted.predict_proba, frame[:n], size),
        )


def test_a_saved_scorer_equals_sklearn_on_a_large_matrix(
    fitted: Pipeline, saved: LeanScorer, titanic: pd.DataFrame
) -> None:
    """Thousands of rows at once (scored in steps), as a batch part scores them."""
    frame = titanic[FEATURES].sample(n=20_000, replace=True, random_state=0)
    matrix = fitted[0].transform(frame)
    assert_same(saved.predict_proba_matrix(matrix), fitted[-1].predict_proba(matrix))
    assert_same(saved.predict_proba_frame(frame), fitted.predict_proba(frame))


def test_the_saved_scorer_needs_no_sklearn_head(fitted: Pipeline, saved: LeanScorer) -> None:
    assert saved.portable
    assert saved.estimator_name == type(fitted[-1]).__name__
    assert saved.classes.tolist() == fitted.classes_.tolist()


EDGE_ROWS = [
    dict.fromkeys(FEATURES),
    {**dict.fromkeys(FEATURES), "sex": "unknown", "embarked": "Z"},
    dict(zip(FEATURES, [1e300, "male", 1e300, 1e300, 1e300, 1e300, "S"], strict=True)),
    dict(zip(FEATURES, [-1e300, "female", -1e300, -1e300, -1e300, -1e300, "C"], strict=True)),
    dict(zip(FEATURES, [0.0, "female", 0.0, 0.0, 0.0, 0.0, "Q"], strict=True)),
    dict(zip(FEATURES, [3.0, "male", 1e300, 0.0, -1e300, None, None], strict=True)),
]


def test_lean_equals_sklearn_on_edge_cases(fitted: Pipeline, saved: LeanScorer) -> None:
    expected = fitted.predict_proba(as_frame(EDGE_ROWS))
    for lean in (compile_pipeline(fitted), saved):
        assert_same(lean.predict_proba_rows(EDGE_ROWS), expected)
        assert_same(lean.predict_proba_frame(as_frame(EDGE_ROWS)), expected)
        for row in EDGE_ROWS:
            assert_same(lean.predict_proba_rows([row]), fitted.predict_proba(as_frame([row])))


def test_a_few_rows_add_up_to_the_same_bits_as_many_rows(
    titanic: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Up to ``FEW_ROWS`` rows take their own path (bins by bisection, one running sum):
    it must reach the leaves and the sums of the path by tree, for rows holding values
    exactly at a threshold, just either side of it, and missing."""
    boosted = CANDIDATES["hist_gradient_boosting"](NUMERIC, CATEGORICAL, 42)
    boosted.fit(titanic[FEATURES], titanic[TITANIC.target])
    head = compile_pipeline(boosted).head
    assert isinstance(head, trees.CompiledTrees)
    rng = np.random.default_rng(7)
    matrix = np.zeros((trees.FEW_ROWS + 1, head.n_features_needed()))
    for feature, thresholds, _ in head._tables:
        at = rng.choice(thresholds, size=len(matrix))
        matrix[:, feature] = at + rng.choice([0.0, -1e-9, 1e-9], size=len(matrix))
        matrix[rng.random(len(matrix)) < 0.15, feature] = np.nan
    by_size = {}
    for size in range(1, len(matrix) + 1):
        by_size[size] = head.raw(matrix[:size])
    monkeypatch.setattr(trees, "FEW_ROWS", 0)  # every size by tree from here
    for size, few in by_size.items():
        assert_same(few, head.raw(matrix[:size]))


def test_expit_equals_scipy_bit_for_bit() -> None:
    from scipy.special import expit as scipy_expit

    rng = np.random.default_rng(0)
    edges = [0.0, -0.0, np.inf, -np.inf, np.nan, 709.0, 709.7, 709.8, 710.0, -709.8, -745.2]
    edges += [-746.0, 36.7, -36.7, 1e-300, -1e-300, 1e300, -1e300, 5e-324]
    x = np.concatenate([rng.normal(0, 4, 200_000), rng.uniform(-800, 800, 50_000), edges])
    assert_same(expit(x), scipy_expit(x))


def test_an_unknown_category_encodes_as_all_zeros(fitted: Pipeline) -> None:
    lean = compile_pipeline(fitted)
    row = {**dict.fromkeys(FEATURES), "sex": "unknown", "embarked": "Z"}
    matrix = lean.transform(lambda name: [row[name]], 1)
    assert_same(matrix, fitted[0].transform(as_frame([row])))
    one_hot_width = sum(
        len(c) for c in fitted[0].named_transformers_["categorical"][-1].categories_
    )
    assert not matrix[0, -one_hot_width:].any()


def test_unsupported_steps_are_refused_at_compile_time(titanic: pd.DataFrame) -> None:
    pipeline = CANDIDATES["logistic_regression"](NUMERIC, CATEGORICAL, 42)
    numeric = pipeline[0].transformers[0][1]
    numeric.steps.append(("minmax", MinMaxScaler()))
    pipeline.fit(titanic[FEATURES], titanic[TITANIC.target])
    with pytest.raises(UnsupportedPipeline, match="MinMaxScaler"):
        compile_pipeline(pipeline)
