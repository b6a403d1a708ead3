"""Validating prediction instances against the feature schema."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from ml.data.spec import TITANIC
from ml.errors import InvalidInstances
from ml.schema import FeatureSchema, derive_schema, validate_instances
from tests.payloads import PASSENGER


@pytest.fixture(scope="module")
def schema(titanic: pd.DataFrame) -> FeatureSchema:
    return derive_schema(titanic, list(TITANIC.features), ["died", "survived"])


def passenger(**changes: Any) -> dict[str, Any]:
    return {**PASSENGER, **changes}


def errors_of(schema: FeatureSchema, instances: object, **kwargs: Any) -> list[dict]:
    with pytest.raises(InvalidInstances) as caught:
        validate_instances(schema, instances, **kwargs)
    return caught.value.errors


def test_a_valid_instance_is_cleaned_to_floats_and_none(schema: FeatureSchema) -> None:
    cleaned = validate_instances(schema, [passenger(age=None, embarked=None, id="a-1")])
    assert cleaned == [
        {
            "pclass": 1.0,
            "sex": "female",
            "age": None,
            "sibsp": 0.0,
            "parch": 0.0,
            "fare": 211.34,
            "embarked": None,
            "id": "a-1",
        }
    ]
    assert type(cleaned[0]["pclass"]) is float


def test_an_81_year_old_passenger_is_accepted(schema: FeatureSchema) -> None:
    assert validate_instances(schema, [passenger(age=81)])[0]["age"] == 81.0


def test_an_integer_id_is_kept(schema: FeatureSchema) -> None:
    assert validate_instances(schema, [passenger(id=7)])[0]["id"] == 7


def test_instances_must_be_a_list(schema: FeatureSchema) -> None:
    assert errors_of(schema, {"pclass": 1}) == [
        {"loc": ["instances"], "msg": "must be a list of objects"}
    ]


def test_an_empty_list_is_refused(schema: FeatureSchema) -> None:
    assert errors_of(schema, []) == [
        {"loc": ["instances"], "msg": "must contain at least 1 instance"}
    ]


def test_too_many_instances_are_refused(schema: FeatureSchema) -> None:
    errors = errors_of(schema, [passenger()] * 3, max_instances=2)
    assert errors == [{"loc": ["instances"], "msg": "must contain at most 2 instances, got 3"}]


def test_an_item_that_is_not_an_object_is_refused(schema: FeatureSchema) -> None:
    assert errors_of(schema, [passenger(), [1, 2]]) == [
        {"loc": ["instances", 1], "msg": "must be an object"}
    ]


def test_a_missing_field_is_required(schema: FeatureSchema) -> None:
    instance = passenger()
    del instance["sex"]
    assert errors_of(schema, [instance]) == [
        {"loc": ["instances", 0, "sex"], "msg": "field required"}
    ]


def test_an_unknown_field_is_refused(schema: FeatureSchema) -> None:
    assert errors_of(schema, [passenger(boat="2")]) == [
        {"loc": ["instances", 0, "boat"], "msg": "unknown field"}
    ]


@pytest.mark.parametrize("value", [True, "29", [29], {"v": 29}])
def test_a_numeric_field_needs_a_real_number(schema: FeatureSchema, value: object) -> None:
    assert errors_of(schema, [passenger(age=value)]) == [
        {"loc": ["instances", 0, "age"], "msg": "must be a number"}
    ]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_nan_and_infinity_are_refused(schema: FeatureSchema, value: float) -> None:
    assert errors_of(schema, [passenger(fare=value)]) == [
        {"loc": ["instances", 0, "fare"], "msg": "must be a finite number"}
    ]


@pytest.mark.parametrize("value", [-1, 161, 10**400])
def test_out_of_range_values_name_the_range(schema: FeatureSchema, value: float) -> None:
    assert errors_of(schema, [passenger(age=value)]) == [
        {"loc": ["instances", 0, "age"], "msg": "must be between 0 and 160"}
    ]


def test_a_fractional_value_for_an_integer_feature_is_refused(schema: FeatureSchema) -> None:
    assert errors_of(schema, [passenger(pclass=2.5)]) == [
        {"loc": ["instances", 0, "pclass"], "msg": "must be an integer"}
    ]


def test_an_unknown_category_lists_the_allowed_values(schema: FeatureSchema) -> None:
    assert errors_of(schema, [passenger(embarked="X")]) == [
        {"loc": ["instances", 0, "embarked"], "msg": "must be one of: 'C', 'Q', 'S'"}
    ]


def test_a_category_must_be_a_string(schema: FeatureSchema) -> None:
    assert errors_of(schema, [passenger(sex=1)]) == [
        {"loc": ["instances", 0, "sex"], "msg": "must be a string"}
    ]


def test_null_is_refused_for_a_non_nullable_feature(schema: FeatureSchema) -> None:
    assert errors_of(schema, [passenger(sex=None)]) == [
        {"loc": ["instances", 0, "sex"], "msg": "may not be null"}
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "must be a string or an integer"),
        (1.5, "must be a string or an integer"),
        ("x" * 129, "must be at most 128 characters"),
    ],
)
def test_a_bad_client_id_is_refused(schema: FeatureSchema, value: object, message: str) -> None:
    assert errors_of(schema, [passenger(id=value)]) == [
        {"loc": ["instances", 0, "id"], "msg": message}
    ]


def test_every_bad_field_of_every_instance_is_reported(schema: FeatureSchema) -> None:
    second = passenger(age="old", color="red", embarked="X")
    del second["fare"]
    errors = errors_of(schema, [passenger(), second, 3], loc_prefix=("body", "instances"))
    assert errors == [
        {"loc": ["body", "instances", 1, "age"], "msg": "must be a number"},
        {"loc": ["body", "instances", 1, "fare"], "msg": "field required"},
        {"loc": ["body", "instances", 1, "embarked"], "msg": "must be one of: 'C', 'Q', 'S'"},
        {"loc": ["body", "instances", 1, "color"], "msg": "unknown field"},
        {"loc": ["body", "instances", 2], "msg": "must be an object"},
    ]
