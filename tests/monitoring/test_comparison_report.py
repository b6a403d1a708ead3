"""A comparison report over shadow-like log entries, with real web, worker and Redis.

The primary predictions are real prediction jobs of test-v1. Their shadows (the same
instances scored by test-v2, through pinned prediction jobs of the API) are appended
to the prediction log with the log's own append script, as a shadow scorer would:
the primary job's ``job_id`` and ``numbers``, ``shadow: true``. The report's numbers
must equal those computed by hand from the API's answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core import prediction_log
from core.keys import Keys
from devsupport import RedisServer, Stack, make_stack
from devsupport.http import KeyedHTTP
from devsupport.stack import METRICS_KEY_ENV
from tests.conftest import new_db
from tests.monitoring.conftest import instances, sample, worker_samples
from tests.traffic.conftest import V1, V2, two_versions  # noqa: F401 — a fixture

ROWS = 300  # instances scored by both versions
LABELLED = 180  # of them with feedback
UNSHADOWED = 40  # further test-v1 predictions without a shadow


@pytest.fixture(scope="module")
def stack(
    redis_server: RedisServer,
    two_versions: Path,  # noqa: F811 — the fixture imported above
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    s = make_stack(redis_server, new_db(), two_versions, tmp_path_factory.mktemp("comparison"))
    s.start_worker(concurrency=1)
    s.start_web()
    yield s
    s.stop_all()


def predict(stack: Stack, rows: list[dict[str, Any]], version: str) -> dict[str, Any]:
    r = stack.http.post(
        stack.url("/api/v1/predictions"),
        json={"instances": rows, "model_version": version},
        params={"wait": 30},
        timeout=60,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "succeeded", r.text
    return r.json()


def append_shadow(stack: Stack, primary: dict[str, Any], shadow: dict[str, Any], features) -> None:
    """Log ``shadow``'s predictions as the shadow of ``primary``'s (same job id and numbers)."""
    found = shadow["result"]["predictions"]
    labels = list(found[0]["probabilities"])
    records = prediction_log.records(
        primary["id"],
        shadow["model_version"],
        numbers=range(len(found)),
        features=features,
        prediction=[p["prediction"] for p in found],
        probabilities={c: [p["probabilities"][c] for p in found] for c in labels},
        tenant=primary.get("tenant") or "",
    )
    for record in records:
        record.shadow = True
    keys = Keys()
    append = stack.redis.register_script(
        prediction_log.APPEND + "append_predictions(KEYS[1], KEYS[2], tonumber(ARGV[1]), 2)"
    )
    append(
        keys=[keys.prediction_log, keys.prediction_log_rows],
        args=[1_000_000, *prediction_log.append_args(records)],
    )


@pytest.fixture(scope="module")
def scored(stack: Stack, reference: pd.DataFrame, feature_schema: Any) -> dict[str, Any]:
    """Primary (v1) and shadow (v2) predictions of the same instances, and feedback."""
    frame = reference.sample(ROWS + UNSHADOWED, random_state=3, replace=True)
    rows = instances(frame, feature_schema)
    features = {n: frame[n].tolist() for n in feature_schema.feature_names}
    primary, shadow = {}, {}
    for start in range(0, ROWS, 100):
        cut = slice(start, start + 100)
        job = predict(stack, rows[cut], V1)
        twin = predict(stack, rows[cut], V2)
        append_shadow(stack, job, twin, {n: v[cut] for n, v in features.items()})
        for a, b in zip(job["result"]["predictions"], twin["result"]["predictions"], strict=True):
            primary[a["prediction_id"]] = a["prediction"]
            shadow[a["prediction_id"]] = b["prediction"]
    predict(stack, rows[ROWS:], V1)  # no shadow: not paired
    truth = frame["survived"].astype(str).tolist()  # the reference data's ground truth
    ids = list(primary)[:LABELLED]
    actual = dict(zip(ids, truth[:LABELLED], strict=True))
    r = stack.http.post(
        stack.url("/api/v1/feedback"),
        json={"items": [{"prediction_id": i, "actual": a} for i, a in actual.items()]},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    return {"primary": primary, "shadow": shadow, "actual": actual, "feedback": r.json()}


def comparison(stack: Stack, **body: Any) -> Any:
    """The answer to a comparison request; when it queued a job, the job once finished."""
    r = stack.http.post(
        stack.url("/api/v1/reports"),
        json={"type": "comparison", **body},
        params={"wait": 30},
        timeout=60,
    )
    for _ in range(6):
        if r.status_code not in (200, 202) or r.json()["status"] in ("succeeded", "failed"):
            break
        r = stack.http.get(stack.url(f"/api/v1/jobs/{r.json()['id']}"), params={"wait": 30})
    return r


def test_feedback_joins_the_primary_predictions_not_their_shadows(scored) -> None:
    assert scored["feedback"]["accepted"] == LABELLED
    assert scored["feedback"]["model_versions"] == [V1]


def test_the_reports_agreement_equals_agreement_computed_by_hand(stack, scored) -> None:
    r = comparison(stack, baseline=V1, candidate=V2, window={"last": 10_000})
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["status"] == "succeeded", job
    summary = job["result"]["summary"]
    primary, shadow = scored["primary"], scored["shadow"]
    agreed = sum(primary[i] == shadow[i] for i in primary)
    assert 0 < agreed < ROWS  # the two versions (other seeds) differ somewhere: not trivial
    assert summary["paired"] == ROWS
    assert (summary["agreement"]["hits"], summary["agreement"]["n"]) == (agreed, ROWS)
    assert summary["agreement"]["rate"] == agreed / ROWS
    disagreements = sum(d["count"] for d in summary["agreement"]["disagreements"])
    assert disagreements == ROWS - agreed
    low, high = summary["agreement"]["interval"]
    assert low <= agreed / ROWS <= high


def test_each_versions_accuracy_is_measured_on_the_labelled_pairs(stack, scored) -> None:
    job = comparison(stack, baseline=V1, candidate=V2, window={"last": 10_000}).json()
    got = job["result"]["summary"]["accuracy"]
    actual = scored["actual"]
    assert got["labelled"] == LABELLED
    assert got["baseline"]["hits"] == sum(scored["primary"][i] == a for i, a in actual.items())
    assert got["candidate"]["hits"] == sum(scored["shadow"][i] == a for i, a in actual.items())


def test_class_shares_are_those_of_the_paired_predictions(stack, scored) -> None:
    job = comparison(stack, baseline=V2, candidate=V1, window={"last": 10_000}).json()
    shares = job["result"]["summary"]["class_shares"]
    survived_v1 = sum(p == "survived" for p in scored["primary"].values()) / ROWS
    survived_v2 = sum(p == "survived" for p in scored["shadow"].values()) / ROWS
    assert shares["baseline"]["survived"] == pytest.approx(survived_v2)
    assert shares["candidate"]["survived"] == pytest.approx(survived_v1)
    assert shares["difference"]["survived"] == pytest.approx(survived_v1 - survived_v2)


def test_a_version_compared_with_itself_agrees_on_every_prediction(stack, scored) -> None:
    job = comparison(stack, baseline=V1, candidate=V1, window={"last": 10_000}).json()
    agreement = job["result"]["summary"]["agreement"]
    assert agreement["n"] == ROWS + UNSHADOWED  # every test-v1 prediction, shadowed or not
    assert agreement["rate"] == 1.0


def test_the_comparison_html_is_served(stack, scored) -> None:
    job = comparison(stack, baseline=V1, candidate=V2, window={"last": 10_000}).json()
    r = stack.http.get(stack.url(job["result"]["report"]["url"]), timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    assert "proba_survived" in r.text


def test_a_window_without_enough_pairs_fails_the_job_naming_both_versions(stack, scored) -> None:
    # the newest 150: the unshadowed predictions, the last shadows and some of test-v2's own
    job = comparison(stack, baseline=V1, candidate=V2, window={"last": 150}).json()
    assert job["status"] == "failed"
    assert f"scored by both {V1} and {V2}" in job["error"]["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"baseline": V1, "window": {"last": 500}}, "candidate"),
        (
            {"baseline": V1, "candidate": V2, "model_version": V1, "window": {"last": 500}},
            "model_version",
        ),
        ({"baseline": V1, "candidate": "nope", "window": {"last": 500}}, "candidate"),
    ],
)
def test_a_bad_comparison_request_is_422_naming_the_field(stack, body, field) -> None:
    r = comparison(stack, **body)
    assert r.status_code == 422, r.text
    assert [field] in [e["loc"][-1:] for e in r.json()["errors"]]


def test_only_a_comparison_names_a_baseline(stack) -> None:
    r = stack.http.post(
        stack.url("/api/v1/reports"),
        json={"type": "drift", "baseline": V1, "window": {"last": 500}},
        timeout=30,
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["baseline"]


def test_a_comparison_cannot_be_uploaded(stack) -> None:
    r = stack.http.post(
        stack.url("/api/v1/reports"),
        files={"file": ("x.csv", b"age\n1\n")},
        data={"type": "comparison"},
        timeout=30,
    )
    assert r.status_code == 422, r.text
    assert "type" in r.json()["errors"][0]["loc"]


def test_confidence_and_predictions_are_counted_per_model_version(stack, scored) -> None:
    samples = worker_samples(stack)
    for version in (V1, V2):
        predicted = sum(
            sample(
                samples,
                "ml_predictions_total",
                model_version=version,
                prediction_class=c,
                role="primary",
            )
            or 0
            for c in ("died", "survived")
        )
        confident = sum(
            sample(
                samples,
                "ml_prediction_confidence_count",
                model_version=version,
                prediction_class=c,
                role="primary",
            )
            or 0
            for c in ("died", "survived")
        )
        # test-v1: the shadowed and unshadowed jobs; test-v2: its pinned twins
        assert predicted == (ROWS + UNSHADOWED if version == V1 else ROWS)
        assert confident == predicted


def test_each_traffic_policy_change_is_counted_by_action_for_the_annotations(stack) -> None:
    def changes() -> dict[str, float]:
        metrics = KeyedHTTP(stack.env[METRICS_KEY_ENV])
        text = metrics.get(stack.url("/metrics"), timeout=10).text
        return {
            s.labels["action"]: s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "lifeboat_deployment_changes_total"
        }

    before = changes()
    policy = {"default": V1, "canary": {"version": V2, "share": 0.0}}
    r = stack.http.request("PUT", stack.url("/api/v1/deployment"), json=policy)
    assert r.status_code == 200, r.text
    assert stack.http.post(stack.url(f"/api/v1/models/{V2}/promote")).status_code == 200
    assert stack.http.post(stack.url("/api/v1/deployment/rollback")).status_code == 200
    after = changes()
    for action in ("set", "promote", "rollback"):
        assert after[action] - before.get(action, 0) == 1
