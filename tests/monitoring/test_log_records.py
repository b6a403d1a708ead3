"""One log entry per job: the same traffic gives the same monitoring as one entry per prediction.

The reference is built as the workers built the log before, one entry per
prediction (``prediction_id``, features, prediction, probabilities, ts); the
same jobs are then finished through the job store, which logs each job as one
entry, and read back through the log's reader. Frames, columns, windows, drift
numbers and the feedback index must not tell the two apart.
"""

from __future__ import annotations

import random
import time
from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pytest

from core import prediction_log
from core.feedback import FeedbackStore
from core.jobs import JobStatus, JobStore, JobType, Outcome
from core.keys import Keys
from core.prediction_log import LogEntry, LogRecord, PredictionLog
from devsupport import RedisServer
from ml.monitoring.drift import ColumnTypes, compute_drift
from tests.monitoring.per_prediction import columns_from_entries, features_frame
from workers.monitoring.columns import Layout, LogColumns

pytestmark = pytest.mark.integration

NUMERICAL = ("age", "fare", "sibsp")
CATEGORICAL = ("sex", "embarked", "pclass")
LABELS = ("died", "survived")
LAYOUT = Layout(NUMERICAL, CATEGORICAL, LABELS)
TYPES = ColumnTypes(numerical=list(NUMERICAL), categorical=list(CATEGORICAL))


def instance(rng: random.Random, shift: float) -> dict[str, Any]:
    return {
        "age": None if rng.random() < 0.1 else round(rng.uniform(1, 70) + shift, 1),
        "fare": rng.choice([7.25, 8.05, 26.0, 71.28, 512.33]) + shift,
        "sibsp": rng.randint(0, 3),  # an integer, as the API passes it on
        "sex": rng.choice(["male", "female"]),
        "embarked": None if rng.random() < 0.05 else rng.choice("CQS"),
        "pclass": rng.randint(1, 3),  # a number in a categorical feature: kept as text
    }


def traffic(seed: int = 3) -> list[tuple[str, str, float, list[dict], list[str], list[list]]]:
    """Jobs of 1 to 1000 instances, two model versions: (job id, version, ts, instances,
    predictions, probabilities)."""
    rng = random.Random(seed)
    jobs = []
    for k, size in enumerate([1, 7, 1000, 3, 250, 1, 40, 1000, 2]):
        shift = 12.0 if k >= 5 else 0.0
        instances = [instance(rng, shift) for _ in range(size)]
        survived = [rng.random() for _ in range(size)]
        proba = [[1 - s, s] for s in survived]
        chosen = [LABELS[int(s > 0.5)] for s in survived]
        version = "v2" if k % 4 == 3 else "v1"
        jobs.append((f"job{k}", version, 1_764_547_200.0 + k, instances, chosen, proba))
    return jobs


def per_prediction_entries(jobs: list) -> list[LogEntry]:
    """The log as it was: one entry per prediction, built as the worker built them."""
    out = []
    for job_id, version, ts, instances, chosen, proba in jobs:
        for n, inst in enumerate(instances):
            out.append(
                LogEntry(
                    prediction_id=f"{job_id}-{n}",
                    model_version=version,
                    features={k: inst[k] for k in (*NUMERICAL, *CATEGORICAL)},
                    prediction=chosen[n],
                    probabilities=dict(zip(LABELS, proba[n], strict=True)),
                    ts=ts,
                )
            )
    return out


def job_records(job_id: str, version: str, ts: float, *columns: list) -> list:
    instances, chosen, proba = columns
    return prediction_log.records(
        job_id,
        version,
        numbers=range(len(instances)),
        features={k: [inst[k] for inst in instances] for k in (*NUMERICAL, *CATEGORICAL)},
        prediction=chosen,
        probabilities={c: [p[j] for p in proba] for j, c in enumerate(LABELS)},
        ts=ts,
    )


@pytest.fixture
def logged(own_redis: RedisServer) -> tuple[Any, list]:
    """A Redis whose log holds the traffic, logged by finishing its jobs; and the traffic."""
    client = own_redis.client()
    store = JobStore(client, keys=Keys(), ttl=600, log_maxlen=100_000)
    jobs = traffic()
    for job_id, version, ts, instances, chosen, proba in jobs:
        real_id, _ = store.create(
            JobType.PREDICTION, params={}, model_version=version, total=len(instances)
        )
        store.claim(real_id, "task", lease=30)
        records = job_records(job_id, version, ts, instances, chosen, proba)
        assert store.finish(Outcome(real_id, JobStatus.SUCCEEDED, log_records=records))
    return client, jobs


def assert_same_columns(got: LogColumns, expected: LogColumns) -> None:
    pd.testing.assert_frame_equal(
        got.frame(list(NUMERICAL), list(CATEGORICAL)),
        expected.frame(list(NUMERICAL), list(CATEGORICAL)),
    )
    np.testing.assert_array_equal(got.proba, expected.proba)
    np.testing.assert_array_equal(got.ts, expected.ts)
    assert got.versions == expected.versions
    np.testing.assert_array_equal(got.version_codes, expected.version_codes)
    assert got.categories == expected.categories
    assert got.appended == expected.appended


def test_a_job_is_one_log_entry_and_its_predictions_read_back_one_by_one(logged) -> None:
    client, jobs = logged
    log = PredictionLog(client, Keys())
    assert client.xlen(Keys().prediction_log) == len(jobs)
    assert log.length() == sum(len(j[3]) for j in jobs)
    assert log.window(version=None).entries() == per_prediction_entries(jobs)


def test_the_monitoring_columns_equal_those_of_the_per_prediction_log(logged) -> None:
    client, jobs = logged
    window = PredictionLog(client, Keys()).window(version=None)
    expected = columns_from_entries(per_prediction_entries(jobs), LAYOUT)
    assert_same_columns(LogColumns.from_records(window.records, LAYOUT), expected)
    frame = LogColumns.from_records(window.records, LAYOUT).frame(
        list(NUMERICAL), list(CATEGORICAL)
    )
    reference_frame = features_frame(
        per_prediction_entries(jobs), list(NUMERICAL), list(CATEGORICAL)
    )
    pd.testing.assert_frame_equal(frame, reference_frame)


@pytest.mark.parametrize("last", [1, 250, 999, 1001, 1500])
def test_a_last_n_window_counts_predictions_and_cuts_an_entry_where_needed(
    logged, last: int
) -> None:
    client, jobs = logged
    for version in ("v1", "v2", None):
        window = PredictionLog(client, Keys()).window(version=version, last=last)
        expected = [
            e for e in per_prediction_entries(jobs) if version is None or e.model_version == version
        ][-last:]
        assert len(window) == len(expected)
        assert window.entries() == expected


def test_catching_up_after_a_stream_id_appends_the_same_rows(logged) -> None:
    client, jobs = logged
    log = PredictionLog(client, Keys())
    ids = [i.decode() for i, _ in client.xrange(Keys().prediction_log)]
    head = LogColumns.from_records(log.window(version=None).records[:5], LAYOUT, ids[4])
    newer = log.window(version=None, last=100_000, after=ids[4])
    both = head.append(LogColumns.from_records(newer.records, LAYOUT, newer.newest_id), 2_000)
    expected = columns_from_entries(per_prediction_entries(jobs)[-2_000:], LAYOUT)
    pd.testing.assert_frame_equal(
        both.frame(list(NUMERICAL), list(CATEGORICAL)),
        expected.frame(list(NUMERICAL), list(CATEGORICAL)),
    )
    np.testing.assert_array_equal(both.proba, expected.proba)
    np.testing.assert_array_equal(both.ts, expected.ts)
    assert both.newest_id == ids[-1]


def test_drift_numbers_equal_those_of_the_per_prediction_log(logged) -> None:
    client, jobs = logged
    entries = per_prediction_entries(jobs)
    reference = features_frame(entries[:1008], list(NUMERICAL), list(CATEGORICAL))
    window = PredictionLog(client, Keys()).window(version="v1", last=1200)
    current = LogColumns.from_records(window.records, LAYOUT).frame(
        list(NUMERICAL), list(CATEGORICAL)
    )
    expected_current = features_frame(
        [e for e in entries if e.model_version == "v1"][-1200:],
        list(NUMERICAL),
        list(CATEGORICAL),
    )
    got = compute_drift(current, reference, TYPES).to_dict()
    assert got == compute_drift(expected_current, reference, TYPES).to_dict()
    assert got["dataset_drift"] is not None


def test_every_prediction_of_a_job_entry_is_indexed_for_feedback_as_before(logged) -> None:
    client, jobs = logged
    # the same traffic logged one entry per prediction, as before, under another prefix
    before = Keys("before")
    encoder = msgspec.json.Encoder()
    for e in per_prediction_entries(jobs):
        fields = {"entry": encoder.encode({**msgspec.to_builtins(e), "job_id": "x"})}
        client.xadd(before.prediction_log, fields)
    picked = ["job0-0", "job2-0", "job2-517", "job2-999", "job7-999", "job8-1", "job2-1000"]
    now = time.time()  # the index buckets predictions by the day they were logged
    outcomes = []
    for keys in (Keys(), before):
        feedback = FeedbackStore(client, keys=keys)
        feedback.catch_up(rows=600)  # several calls: 600 predictions a call
        # logged without a tenant (as by a job made before tenants): tenant "" alone owns them
        got = feedback.record([(pid, "survived") for pid in picked], tenant="", now=now)
        assert (got.accepted, got.duplicate, got.unknown_ids) == (6, 0, ["job2-1000"])
        outcomes.append({o.prediction_id: o for v in ("v1", "v2") for o in feedback.labelled(v, 9)})
    assert outcomes[0] == outcomes[1]
    assert sorted(outcomes[0]) == sorted(picked[:-1])
    entries = {e.prediction_id: e for e in per_prediction_entries(jobs)}
    assert all(o.model_version == entries[p].model_version for p, o in outcomes[0].items())


def test_a_batch_sample_is_logged_in_entries_of_at_most_entry_rows() -> None:
    rows = [
        {
            "row": 3 * k,
            "features": {"age": float(k), "sex": "male"},
            "prediction": "died",
            "probabilities": {"died": 0.75, "survived": 0.25},
        }
        for k in range(1, 2_501)
    ]
    records = prediction_log.records_of_rows("b", "v1", rows, source=prediction_log.SOURCE_BATCH)
    assert [len(r) for r in records] == [1_000, 1_000, 500]
    assert {r.source for r in records} == {"batch"}
    flat = [e for r in records for e in r.entries()]
    assert [e.prediction_id for e in flat] == [f"b-{3 * k}" for k in range(1, 2_501)]
    assert isinstance(records[0], LogRecord)
