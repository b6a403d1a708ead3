"""metrics.observe_many counts exactly what one observe per value counts."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram

from telemetry import metrics

VALUES = [0.5, 0.55, 0.6, 0.6, 0.61, 0.99, 1.0, 0.0, 7.0, 0.75, 0.75, 0.9999]


def samples(histogram: Histogram) -> dict[tuple[str, str], float]:
    (family,) = histogram.collect()
    return {
        (s.name, s.labels.get("le", "")): s.value for s in family.samples if "created" not in s.name
    }


def test_bucket_counts_count_and_sum_equal_one_observe_per_value() -> None:
    registry = CollectorRegistry()
    one_by_one = Histogram("one", "", ["c"], buckets=metrics.CONFIDENCE_BUCKETS, registry=registry)
    at_once = Histogram("many", "", ["c"], buckets=metrics.CONFIDENCE_BUCKETS, registry=registry)
    for value in VALUES:
        one_by_one.labels("x").observe(value)
    metrics.observe_many(at_once.labels("x"), VALUES)
    metrics.observe_many(at_once.labels("x"), [])

    expected = {(n.replace("one", "many"), le): v for (n, le), v in samples(one_by_one).items()}
    got = samples(at_once)
    assert got.pop(("many_sum", "")) == pytest.approx(expected.pop(("many_sum", "")), rel=1e-12)
    assert got == expected
    assert got[("many_count", "")] == len(VALUES)
