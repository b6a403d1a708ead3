"""The lean scorer reproduces scikit-learn's predict_proba for every candidate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from ml.dataset import coerce_features
from ml.datasets import TITANIC
from ml.errors import UnsupportedPipeline
from ml.lean import COMPILED_TREES_MAX_ROWS, LeanScorer, compile_pipeline
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
    np.testing.assert_allclose(actual, expected, atol=1e-9, rtol=0)


def score_in_small_batches(lean: LeanScorer, rows: list[dict]) -> np.ndarray:
    size = COMPILED_TREES_MAX_ROWS
    return np.concatenate(
        [lean.predict_proba_rows(rows[i : i + size]) for i in range(0, len(rows), size)]
    )


def test_lean_equals_sklearn_on_every_dataset_row(fitted: Pipeline, titanic: pd.DataFrame) -> None:
    frame = titanic[FEATURES]
    expected = fitted.predict_proba(frame)
    lean = compile_pipeline(fitted)
    assert_same(score_in_small_batches(lean, as_rows(frame)), expected)
    assert_same(lean.predict_proba_frame(frame), expected)
    assert_same(lean.predict_proba_rows(as_rows(frame)), expected)


EDGE_ROWS = [
    dict.fromkeys(FEATURES),
    {**dict.fromkeys(FEATURES), "sex": "unknown", "embarked": "Z"},
    dict(zip(FEATURES, [1e300, "male", 1e300, 1e300, 1e300, 1e300, "S"], strict=True)),
    dict(zip(FEATURES, [-1e300, "female", -1e300, -1e300, -1e300, -1e300, "C"], strict=True)),
    dict(zip(FEATURES, [0.0, "female", 0.0, 0.0, 0.0, 0.0, "Q"], strict=True)),
    dict(zip(FEATURES, [3.0, "male", 1e300, 0.0, -1e300, None, None], strict=True)),
]


def test_lean_equals_sklearn_on_edge_cases(fitted: Pipeline) -> None:
    expected = fitted.predict_proba(as_frame(EDGE_ROWS))
    lean = compile_pipeline(fitted)
    assert_same(lean.predict_proba_rows(EDGE_ROWS), expected)
    assert_same(lean.predict_proba_frame(as_frame(EDGE_ROWS)), expected)
    for row, probabilities in zip(EDGE_ROWS, expected, strict=True):
        assert_same(lean.predict_proba_rows([row]), probabilities[None, :])


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
