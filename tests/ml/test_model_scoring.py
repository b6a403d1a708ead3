"""Scoring with a loaded model version."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import MinMaxScaler

from ml.data.spec import TITANIC
from ml.model import Model
from ml.pipelines import CANDIDATES
from ml.schema import validate_instances

FEATURES = list(TITANIC.features)

PASSENGERS = [
    {
        "pclass": 1,
        "sex": "female",
        "age": 29,
        "sibsp": 0,
        "parch": 0,
        "fare": 211.3,
        "embarked": "S",
        "id": "rose",
    },
    {
        "pclass": 3,
        "sex": "male",
        "age": None,
        "sibsp": 0,
        "parch": 0,
        "fare": 7.9,
        "embarked": None,
    },
]


def test_model_uses_the_lean_scorer(model: Model) -> None:
    assert model.lean is not None


def test_predictions_name_a_label_and_every_class_probability(model: Model) -> None:
    rows = validate_instances(model.schema, PASSENGERS)
    predictions = model.predict_rows(rows)
    assert [p["prediction"] for p in predictions] == ["survived", "died"]
    for prediction in predictions:
        probabilities = prediction["probabilities"]
        assert list(probabilities) == ["died", "survived"]
        assert sum(probabilities.values()) == pytest.approx(1.0)
        assert prediction["prediction"] == max(probabilities, key=probabilities.__getitem__)
        assert set(prediction) == {"prediction", "probabilities"}


def test_row_and_frame_scoring_agree_with_the_pipeline(model: Model, titanic: pd.DataFrame) -> None:
    expected = model.pipeline.predict_proba(titanic[FEATURES])
    np.testing.assert_allclose(model.predict_proba_frame(titanic), expected, atol=1e-9, rtol=0)
    rows = model.rows_to_frame(validate_instances(model.schema, PASSENGERS))
    np.testing.assert_allclose(
        model.predict_proba_rows(validate_instances(model.schema, PASSENGERS)),
        model.pipeline.predict_proba(rows),
        atol=1e-9,
        rtol=0,
    )


def test_an_unsupported_pipeline_falls_back_to_sklearn(
    titanic: pd.DataFrame, card: dict, caplog: pytest.LogCaptureFixture
) -> None:
    pipeline = CANDIDATES["logistic_regression"](
        list(TITANIC.numeric_features), list(TITANIC.categorical_features), 42
    )
    pipeline[0].transformers[0][1].steps.append(("minmax", MinMaxScaler()))
    pipeline.fit(titanic[FEATURES], titanic[TITANIC.target])
    with caplog.at_level(logging.WARNING, logger="ml.model"):
        fallback = Model("fallback", card, pipeline)
    assert fallback.lean is None
    assert "lean scorer unavailable" in caplog.text
    rows = validate_instances(fallback.schema, PASSENGERS)
    np.testing.assert_allclose(
        fallback.predict_proba_rows(rows),
        pipeline.predict_proba(fallback.rows_to_frame(rows)),
        atol=1e-12,
        rtol=0,
    )
    assert [p["prediction"] for p in fallback.predict_rows(rows)] == ["survived", "died"]
