"""The guard's judgement of a canary from its counts and its feedback (no Redis needed)."""

from __future__ import annotations

from core.deployment import Guard
from workers.deployment.guard import verdict


def test_an_error_rate_past_the_threshold_ends_the_canary_once_it_has_enough_predictions() -> None:
    guard = Guard(max_error_rate=0.05, min_predictions=200)
    assert verdict(guard, predictions=199, failed=199, labelled=0, correct=0) is None
    assert verdict(guard, predictions=200, failed=10, labelled=0, correct=0) is None  # 5 %
    reason = verdict(guard, predictions=200, failed=11, labelled=0, correct=0)
    assert reason == "error rate 0.055 of 200 predictions is above max_error_rate 0.05"


def test_a_measured_accuracy_below_the_floor_ends_the_canary_once_enough_is_labelled() -> None:
    guard = Guard(min_accuracy=0.7, min_labelled=50)
    assert verdict(guard, predictions=0, failed=0, labelled=49, correct=0) is None
    assert verdict(guard, predictions=0, failed=0, labelled=50, correct=35) is None  # 70 %
    reason = verdict(guard, predictions=0, failed=0, labelled=50, correct=34)
    assert reason == "accuracy 0.680 on 50 labelled predictions is below min_accuracy 0.7"


def test_a_guard_without_thresholds_never_ends_the_canary() -> None:
    assert verdict(Guard(), predictions=10_000, failed=10_000, labelled=10_000, correct=0) is None
