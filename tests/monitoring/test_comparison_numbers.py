"""The comparison report's numbers, as pure functions: no Redis, no Celery."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ml.monitoring import comparison

Z95 = 1.959963984540054  # the standard normal's 97.5th percentile


def wilson_by_formula(hits: int, n: int) -> tuple[float, float]:
    """The Wilson score interval written out (Wilson 1927; Agresti & Coull 1998, eq. 2)."""
    p, z2 = hits / n, Z95**2
    centre = p + z2 / (2 * n)
    spread = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return (centre - spread) / (1 + z2 / n), (centre + spread) / (1 + z2 / n)


@pytest.mark.parametrize(("hits", "n"), [(95, 100), (0, 10), (10, 10), (1, 3), (412, 1000)])
def test_the_interval_is_wilsons_score_interval(hits: int, n: int) -> None:
    rate = comparison.wilson(hits, n)
    assert rate.rate == hits / n
    assert rate.interval == pytest.approx(wilson_by_formula(hits, n), abs=1e-12)


def test_a_rate_of_nothing_has_no_interval() -> None:
    assert comparison.wilson(0, 0).to_dict() == {"hits": 0, "n": 0, "rate": None, "interval": None}


BASE = {"j-0": "died", "j-1": "died", "j-2": "survived", "j-3": "survived", "j-4": "died"}
CAND = {"j-0": "died", "j-1": "survived", "j-2": "survived", "j-3": "died", "k-9": "died"}
ACTUAL = {"j-0": "died", "j-1": "survived", "j-3": "survived", "j-4": "died", "k-9": "died"}
LABELS = ["died", "survived"]


def test_only_ids_both_versions_scored_are_compared() -> None:
    summary = comparison.compare(BASE, CAND, ACTUAL, LABELS)
    assert summary["paired"] == 4  # j-0 .. j-3
    assert summary["unpaired"] == {"baseline": 1, "candidate": 1}


def test_agreement_counts_equal_classes_and_lists_each_disagreement() -> None:
    got = comparison.compare(BASE, CAND, ACTUAL, LABELS)["agreement"]
    assert (got["hits"], got["n"], got["rate"]) == (2, 4, 0.5)
    assert sorted((d["baseline"], d["candidate"], d["count"]) for d in got["disagreements"]) == [
        ("died", "survived", 1),
        ("survived", "died", 1),
    ]


def test_accuracy_is_measured_on_the_paired_predictions_with_ground_truth() -> None:
    got = comparison.compare(BASE, CAND, ACTUAL, LABELS)["accuracy"]
    # labelled pairs: j-0 (died), j-1 (survived), j-3 (survived); j-4 and k-9 are unpaired
    assert got["labelled"] == 3
    assert (got["baseline"]["hits"], got["candidate"]["hits"]) == (2, 2)
    assert got["baseline"]["interval"] == pytest.approx(list(wilson_by_formula(2, 3)))
    assert got["difference"] == 0.0


def test_class_shares_and_their_difference() -> None:
    got = comparison.compare(BASE, CAND, ACTUAL, LABELS)["class_shares"]
    assert got["baseline"] == {"died": 0.5, "survived": 0.5}
    assert got["candidate"] == {"died": 0.5, "survived": 0.5}
    skewed = comparison.shares(BASE, {**CAND, "j-1": "died"}, ["j-0", "j-1", "j-2", "j-3"], LABELS)
    assert skewed["difference"] == {"died": 0.25, "survived": -0.25}


def test_no_labels_gives_no_accuracy_rather_than_zero() -> None:
    got = comparison.compare(BASE, CAND, {}, LABELS)["accuracy"]
    assert got["labelled"] == 0
    assert got["baseline"]["rate"] is None
    assert got["difference"] is None


def test_the_evidently_report_compares_the_candidates_outputs_with_the_baselines() -> None:
    rng = np.random.default_rng(0)
    p_base = rng.uniform(size=200)
    p_cand = np.clip(p_base + 0.4, 0, 1)  # the candidate says "survived" far more often
    frame = {
        name: comparison.output_frame(
            [LABELS[int(v > 0.5)] for v in p],
            np.column_stack([1 - p, p]),
            LABELS,
        )
        for name, p in (("base", p_base), ("cand", p_cand))
    }
    snapshot = comparison.comparison_report(frame["base"], frame["cand"], LABELS).dict()
    columns = {m["config"]["column"] for m in snapshot["metrics"]}
    assert columns == {"prediction", "proba_died", "proba_survived"}
    failed = [t for t in snapshot["tests"] if t["status"] == "FAIL"]
    assert len(failed) == 3  # every output drifted
