"""Shadow versions: each scores the instances of every finished prediction job again, off the
response path, and logs its predictions marked as shadow.

After a scoring task has finished its jobs (their answers are out: the job store has
published them), :func:`publish` sends one ``shadow_predict`` message per shadow version
of the traffic policy with the instances of the jobs that succeeded (their log entries'
columns: ids and numbers included). Pinned and canary jobs are shadowed too; a job is
not shadowed by its own version; batch jobs are not shadowed (a file of a million rows
would double the batch's work for a comparison that prediction jobs already give).

The message goes to its own queue (``shadow``), which the reports worker consumes: a
shadow task never holds a scoring pool process, and a shadow that fails (its artifact
does not load, it raises) only counts an error with ``role="shadow"``. Nothing here
raises into the primary's task. The log entries keep the primary's job id and numbers,
so the two join on prediction id; they are appended once per shadow task
(:data:`core.prediction_log.APPEND_ONCE`), however often its message is delivered.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from itertools import chain
from typing import Any

import msgspec
from celery import current_app

from core import prediction_log
from core.deployment import Policy
from core.jobs import JobStatus
from core.prediction_log import APPEND_ONCE, LogRecord
from core.queue import SHADOW_PREDICT_TASK
from telemetry import metrics
from workers import lifecycle
from workers.runtime import Runtime

log = logging.getLogger(__name__)

ROLE_PRIMARY = "primary"  # the ``role`` label of metrics of the version that answered
ROLE_SHADOW = "shadow"  # … and of a shadow version's


class ShadowInput(msgspec.Struct, gc=False):
    """One finished job's instances, as a shadow task receives them."""

    job_id: str
    numbers: list[int]
    features: dict[str, list[Any]]
    tenant: str = ""


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[ShadowInput])


def to_shadow(policy: Policy | None, records: Sequence[LogRecord]) -> dict[str, list[LogRecord]]:
    """Per shadow version of ``policy``, the succeeded jobs' log entries it scores (not its
    own jobs')."""
    if policy is None or not policy.shadow:
        return {}
    out = {v: [r for r in records if r.model_version != v] for v in policy.shadow}
    return {v: rs for v, rs in out.items() if rs}


def publish(rt: Runtime, outcomes: Sequence[Any], finished: Sequence[bool]) -> int:
    """Send the shadow messages of the jobs this call finished; returns how many were sent.
    Logs, never raises: the jobs have finished whatever happens here."""
    try:
        records = [
            r
            for o, done in zip(outcomes, finished, strict=True)
            if done and o.status is JobStatus.SUCCEEDED
            for r in o.log_records
        ]
        if not records:
            return 0
        sent = 0
        for version, picked in to_shadow(rt.policies.get(), records).items():
            payload = [ShadowInput(r.job_id, r.numbers, r.features, r.tenant) for r in picked]
            args = [version, _encoder.encode(payload).decode()]
            current_app.send_task(SHADOW_PREDICT_TASK, args=args)
            sent += 1
        return sent
    except Exception:
        log.exception("shadow scoring could not be queued (the primary jobs have finished)")
        return 0


def run(rt: Runtime, version: str, payload: str, task_id: str) -> str:
    """Score ``payload`` with the shadow ``version`` and log it once for ``task_id``.

    A failure counts one error per job, with ``role="shadow"``, and is logged: a shadow
    task is never retried (its jobs have their answers; a second try would fail the same).
    """
    inputs = _decoder.decode(payload)
    try:
        model = rt.model(version)
        log_records, labels, confidences = _score(model, inputs)
    except Exception as exc:  # noqa: BLE001 — a shadow's failure is counted, never spread
        error = lifecycle.error_of(exc)["type"]
        metrics.PREDICTION_ERRORS.labels(version, error, ROLE_SHADOW).inc(len(inputs))
        log.warning("shadow version %s failed on %d job(s): %s", version, len(inputs), exc)
        return f"shadow {version} failed: {error}"
    append_once = rt.memo("append once", lambda: rt.redis.register_script(APPEND_ONCE))
    appended = append_once(
        keys=[rt.keys.prediction_log, rt.keys.prediction_log_rows, rt.keys.shadow_done(task_id)],
        args=[
            rt.settings.prediction_log_maxlen,
            rt.settings.broker_visibility_timeout + rt.settings.job_ttl("prediction"),
            *prediction_log.append_args(log_records),
        ],
    )
    if not appended:
        return f"shadow {version}: logged already by an earlier delivery"
    count(version, ROLE_SHADOW, labels, confidences)
    return f"shadow {version} scored {len(inputs)} job(s)"


def _score(model: Any, inputs: list[ShadowInput]) -> tuple[list[LogRecord], list[str], list[float]]:
    names = model.schema.feature_names
    features = {n: list(chain.from_iterable(i.features[n] for i in inputs)) for n in names}
    rows = sum(len(i.numbers) for i in inputs)
    started = time.perf_counter()
    proba = model.predict_proba_columns(features, rows)
    metrics.PREDICTION_LATENCY.labels(model.version, ROLE_SHADOW).observe(
        time.perf_counter() - started
    )
    classes = list(model.class_labels)
    chosen = [classes[j] for j in proba.argmax(axis=1).tolist()]
    by_class = {c: proba[:, j].tolist() for j, c in enumerate(classes)}
    now = time.time()
    out: list[LogRecord] = []
    start = 0
    for item in inputs:
        cut = slice(start, start + len(item.numbers))
        out += prediction_log.records(
            item.job_id,
            model.version,
            numbers=item.numbers,
            features={n: item.features[n] for n in names},
            prediction=chosen[cut],
            probabilities={c: column[cut] for c, column in by_class.items()},
            ts=now,
            tenant=item.tenant,
            shadow=True,
        )
        start = cut.stop
    return out, chosen, proba.max(axis=1).tolist()


def count(version: str | None, role: str, labels: list[str], confidences: list[float]) -> None:
    """The predictions and confidences of ``version`` in ``role``."""
    by_label: defaultdict[str, list[float]] = defaultdict(list)
    for label, confidence in zip(labels, confidences, strict=True):
        by_label[label].append(confidence)
    for label, values in by_label.items():
        child = metrics.PREDICTION_CONFIDENCE.labels(version or "", label, role)
        metrics.observe_many(child, values)
    for label, n in Counter(labels).items():
        metrics.PREDICTIONS.labels(version or "", label, role).inc(n)
