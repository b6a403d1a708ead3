"""The columnar monitoring window: same frame as the log entries give, exact round trips."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from core.prediction_log import LogEntry
from tests.monitoring.per_prediction import columns_from_entries, features_frame
from workers.monitoring.columns import Layout, LogColumns

LAYOUT = Layout(("age", "fare"), ("sex", "embarked"), ("0", "1"))


def entry(i: int, version: str = "v1", **features: object) -> LogEntry:
    values = {"age": 20.0 + i, "fare": 7.25 * i, "sex": "male" if i % 2 else "female"}
    values["embarked"] = "CQS"[i % 3]
    values.update(features)
    p = (i % 10) / 10
    return LogEntry(f"p{i}", version, values, "1", {"0": 1 - p, "1": p}, ts=1000.0 + i)


def entries(n: int, start: int = 0, version: str = "v1") -> list[LogEntry]:
    return [entry(i, version) for i in range(start, start + n)]


def frame_of(columns: LogColumns) -> pd.DataFrame:
    return columns.frame(list(LAYOUT.numerical), list(LAYOUT.categorical))


def test_the_frame_equals_the_one_built_from_the_log_entries_with_missing_values() -> None:
    logged = [*entries(5), entry(5, age=None, sex=None), entry(6, embarked=3, fare=12)]
    columns = columns_from_entries(logged, LAYOUT)
    expected = features_frame(logged, list(LAYOUT.numerical), list(LAYOUT.categorical))
    pd.testing.assert_frame_equal(frame_of(columns), expected)
    assert math.isnan(frame_of(columns)["sex"][5])
    assert frame_of(columns)["embarked"][6] == "3"


def test_an_encoded_window_decodes_to_the_same_columns() -> None:
    columns = columns_from_entries([*entries(4), *entries(3, 10, "v2")], LAYOUT, "17-0")
    back = LogColumns.decode(columns.encode())
    pd.testing.assert_frame_equal(frame_of(back), frame_of(columns))
    np.testing.assert_array_equal(back.proba, columns.proba)
    np.testing.assert_array_equal(back.ts, columns.ts)
    assert back.newest_id == "17-0"
    assert back.appended == {"v1": 4, "v2": 3}
    assert back.present_versions() == ["v1", "v2"]


def test_appending_keeps_the_newest_rows_and_merges_new_categories_and_versions() -> None:
    old = columns_from_entries(entries(6), LAYOUT, "1-0")
    newer_entries = [entry(6, embarked="X"), *entries(3, 7, "v2")]
    newer = columns_from_entries(newer_entries, LAYOUT, "2-0")
    both = LogColumns.decode(old.encode()).append(newer, keep=8)

    everything = [*entries(6), *newer_entries]
    expected = columns_from_entries(everything[-8:], LAYOUT)
    pd.testing.assert_frame_equal(frame_of(both), frame_of(expected))
    np.testing.assert_array_equal(both.probabilities(["1", "0"]), expected.proba[:, ::-1])
    assert both.newest_id == "2-0"
    assert both.appended == {"v1": 7, "v2": 3}
    assert len(both.of_version("v2")) == 3
    assert frame_of(both.of_version("v1"))["embarked"].tolist()[-1] == "X"
    assert len(both.of_version("v3")) == 0


def test_a_feature_numerical_in_one_version_and_categorical_in_another_is_kept_both_ways() -> None:
    layout = Layout.union([(["age"], ["sex"], ["0", "1"]), (["sex"], ["age"], ["0", "1"])])
    assert (layout.numerical, layout.categorical) == (("age", "sex"), ("sex", "age"))
    logged = [entry(1), entry(2, version="v2", age="young", sex=1), entry(3, age=None)]
    columns = LogColumns.decode(columns_from_entries(logged, layout).encode())
    v1 = columns.of_version("v1").frame(["age"], ["sex"])
    v2 = columns.of_version("v2").frame(["sex"], ["age"])
    assert v1["age"].tolist()[0] == 21.0
    assert math.isnan(v1["age"].tolist()[1])
    assert v1["sex"].tolist() == ["male", "male"]
    assert v2.to_dict("records") == [{"sex": 1.0, "age": "young"}]


def test_bytes_that_are_not_a_window_are_refused() -> None:
    columns = columns_from_entries(entries(3), LAYOUT)
    with pytest.raises(ValueError, match="not a log columns blob"):
        LogColumns.decode(b"something else")
    with pytest.raises(ValueError, match="trailing bytes"):
        LogColumns.decode(columns.encode() + b"\0")
