"""Deriving the feature schema from training data."""

from __future__ import annotations

import pandas as pd
import pytest

from ml.data.spec import TITANIC
from ml.schema import Feature, FeatureSchema, derive_schema, plausible_range


@pytest.fixture(scope="module")
def schema(titanic: pd.DataFrame) -> FeatureSchema:
    return derive_schema(titanic, list(TITANIC.features), ["died", "survived"])


def by_name(schema: FeatureSchema) -> dict[str, Feature]:
    return {f.name: f for f in schema.features}


def test_schema_keeps_feature_order_and_class_labels(schema: FeatureSchema) -> None:
    assert schema.feature_names == list(TITANIC.features)
    assert schema.class_labels == ["died", "survived"]


def test_kinds_come_from_dtypes(schema: FeatureSchema) -> None:
    kinds = {f.name: f.kind for f in schema.features}
    assert kinds == {
        "pclass": "numeric",
        "sex": "categorical",
        "age": "numeric",
        "sibsp": "numeric",
        "parch": "numeric",
        "fare": "numeric",
        "embarked": "categorical",
    }


def test_categories_are_the_sorted_observed_values(schema: FeatureSchema) -> None:
    features = by_name(schema)
    assert features["sex"].categories == ["female", "male"]
    assert features["embarked"].categories == ["C", "Q", "S"]


def test_nullable_only_where_training_data_had_missing_values(schema: FeatureSchema) -> None:
    nullable = {f.name for f in schema.features if f.nullable}
    assert nullable == {"age", "fare", "embarked"}


def test_small_integer_codes_keep_their_observed_range(schema: FeatureSchema) -> None:
    pclass = by_name(schema)["pclass"]
    assert pclass.integer
    assert (pclass.minimum, pclass.maximum) == (1.0, 3.0)


def test_continuous_ranges_are_plausible_not_observed(schema: FeatureSchema) -> None:
    age = by_name(schema)["age"]
    assert not age.integer
    assert (age.minimum, age.maximum) == (0.0, 160.0)
    assert age.minimum <= 81 <= age.maximum


def test_negative_columns_are_widened_by_their_span() -> None:
    assert plausible_range(-2.0, 3.0, integer=False, distinct=50) == (-7.0, 8.0)
    assert plausible_range(0.0, 0.0, integer=False, distinct=1) == (0.0, 1.0)


def test_schema_round_trips_through_a_dict(schema: FeatureSchema) -> None:
    assert FeatureSchema.from_dict(schema.to_dict()) == schema


def test_a_feature_cannot_be_named_id() -> None:
    with pytest.raises(ValueError, match="id"):
        FeatureSchema(features=[Feature("id", "numeric")], class_labels=["a", "b"])
