"""The column validator accepts and refuses exactly what the instance validator does."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from core import prediction_inputs
from ml.columns import Columns, from_rows, validate_columns
from ml.data.spec import TITANIC
from ml.errors import InvalidInstances
from ml.schema import FeatureSchema, derive_schema, validate_instances
from tests.payloads import PASSENGER


@pytest.fixture(scope="module")
def schema(titanic: pd.DataFrame) -> FeatureSchema:
    return derive_schema(titanic, list(TITANIC.features), ["died", "survived"])


def outcome(fn: Any, schema: FeatureSchema, instances: object) -> Any:
    """The columns, or the errors it raised."""
    try:
        got = fn(schema, instances, max_instances=5)
    except InvalidInstances as exc:
        return ("refused", exc.errors)
    return got if isinstance(got, Columns) else from_rows(schema, got)


# values that are valid for some features and not for others, or for none
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False),
    st.sampled_from(["male", "female", "S", "C", "Q", "", "1", "x" * 200]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
KEYS = st.sampled_from([*PASSENGER, "id", "unknown"])
INSTANCE = st.one_of(
    st.fixed_dictionaries({}, optional={k: ODD_VALUES for k in [*PASSENGER, "id"]}),
    st.builds(
        lambda changes, drop: {k: v for k, v in {**PASSENGER, **changes}.items() if k not in drop},
        st.dictionaries(KEYS, ODD_VALUES, max_size=2),
        st.sets(KEYS, max_size=1),
    ),
    st.just(PASSENGER),
)
INSTANCES = st.one_of(st.lists(INSTANCE, min_size=0, max_size=7), ODD_VALUES)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances=INSTANCES)
@example(instances=[{**PASSENGER, "id": None}])
@example(instances=[{**PASSENGER, "age": None, "pclass": None}])
@example(instances=[{**PASSENGER, "pclass": True}, PASSENGER])
@example(instances=[{**PASSENGER, "fare": 10**400}])
@example(instances=[{**PASSENGER, "unknown": 1}, {**PASSENGER, "id": "a"}])
@example(instances=[{**PASSENGER, "id": 7}, {**PASSENGER, "id": "x" * 200}])
def test_columns_agree_with_instances_on_any_input(schema: FeatureSchema, instances: Any) -> None:
    assert outcome(validate_columns, schema, instances) == outcome(
        validate_instances, schema, instances
    )


def test_valid_instances_become_columns_of_cleaned_values(schema: FeatureSchema) -> None:
    got = validate_columns(schema, [{**PASSENGER, "id": 7}, {**PASSENGER, "age": None}])
    assert got.features["age"] == [float(PASSENGER["age"]), None]
    assert got.features["pclass"] == [1.0, 1.0]
    assert got.ids == [7, None]


def test_an_explicit_null_id_is_refused_as_before(schema: FeatureSchema) -> None:
    with pytest.raises(InvalidInstances) as caught:
        validate_columns(schema, [{**PASSENGER, "id": None}])
    assert caught.value.errors == [
        {"loc": ["instances", 0, "id"], "msg": "must be a string or an integer"}
    ]


def test_a_record_of_instances_reads_as_the_same_columns(schema: FeatureSchema) -> None:
    rows = validate_instances(schema, [{**PASSENGER, "id": "a"}, PASSENGER])
    columns = from_rows(schema, rows)
    legacy = prediction_inputs.read({"instances": rows}, schema.feature_names)
    assert legacy == columns
    assert prediction_inputs.read(prediction_inputs.params(columns), schema.feature_names) == (
        columns
    )
