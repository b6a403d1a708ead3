"""Scoring prediction jobs, several at once.

A task runs for the jobs in its message (the web puts the jobs submitted while
its previous publish was in flight into one message), and prediction jobs already
queued beside them are claimed too: all are scored in one model call
(micro-batching).
Every claimed job is recorded under the claiming task's id: when that task's
message is redelivered (its worker died), the redelivered task finishes every
job it had claimed, so a claimed job is never lost; the job store refuses a
second finish, so none ends twice. The task of a job that another task has
claimed finds it ``busy`` and returns at once.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from core import prediction_log
from core.jobs import Job, JobStatus, JobType, Outcome
from telemetry import metrics
from workers import lifecycle
from workers.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scored:
    """One job's outcome and what to count for it once it has finished."""

    outcome: Outcome
    model_version: str | None
    labels: list[str]
    confidences: list[float]


def run(rt: Runtime, job_ids: list[str], owner: str) -> str:
    """Score ``job_ids`` and queued neighbours; returns what happened, for the task's log."""

    store = rt.store
    s = rt.settings
    claimed = store.claim_batch(
        owner,
        job_ids,
        lease=s.claim_lease_seconds,
        max_jobs=max(s.microbatch_max_jobs, len(job_ids)),
        max_rows=s.microbatch_max_rows,
    )
    jobs = [j for j in store.get_many(claimed) if _still_mine(j, owner)] if claimed else []
    if not jobs:
        return "nothing to do: finished, cancelled or claimed by another task"
    with lifecycle.in_progress(JobType.PREDICTION, len(jobs)):
        if s.fault_delay_seconds:  # fault injection: a window in which the whole batch runs
            time.sleep(s.fault_delay_seconds)
        scored = score_jobs(rt, jobs)
    finished, log_length = store.finish_batch([sc.outcome for sc in scored], owner)
    metrics.PREDICTION_LOG_LENGTH.set(log_length)
    _count(jobs, scored, finished)
    return f"scored {len(jobs)} job(s)"


def _still_mine(job: Job | None, owner: str) -> bool:
    return job is not None and job.status is JobStatus.RUNNING and job.owner == owner


def score_jobs(rt: Runtime, jobs: list[Job]) -> list[Scored]:
    """Score every job; one model call per model version, and one bad job fails alone."""
    by_version: dict[str, list[Job]] = defaultdict(list)
    out: list[Scored] = []
    for job in jobs:
        try:
            by_version[lifecycle.version_of(job)].append(job)
        except lifecycle.MissingModelVersion as exc:
            out.append(_failed(job, exc))
    for version, group in by_version.items():
        try:
            model = rt.model(version)
        except Exception as exc:  # noqa: BLE001 — every job of this version fails with it
            out += [_failed(job, exc) for job in group]
            continue
        try:
            out += _score_together(model, group)
        except Exception:  # noqa: BLE001 — find the culprit: score each job on its own
            log.warning("a micro-batch of %d jobs failed; scoring them one by one", len(group))
            for job in group:
                try:
                    out += _score_together(model, [job])
                except Exception as exc:  # noqa: BLE001 — this job fails alone
                    out.append(_failed(job, exc))
    return out


def _score_together(model: Any, jobs: list[Job]) -> list[Scored]:

    rows = [inst for job in jobs for inst in job.params["instances"]]
    started = time.perf_counter()
    proba = model.predict_proba_rows(rows)
    metrics.PREDICTION_LATENCY.labels(model.version).observe(time.perf_counter() - started)
    metrics.MICROBATCH_JOBS.labels(model.version).observe(len(jobs))
    labels = list(model.class_labels)
    names = model.schema.feature_names
    version = model.version
    probs = proba.tolist()  # plain floats: far cheaper than indexing the array per cell
    best = proba.argmax(axis=1).tolist()
    now = time.time()
    out: list[Scored] = []
    start = 0
    for job in jobs:
        instances = job.params["instances"]
        end = start + len(instances)
        chosen = [labels[b] for b in best[start:end]]
        predictions, conf = [], []
        for n, (inst, row, label) in enumerate(
            zip(instances, probs[start:end], chosen, strict=True)
        ):
            p = dict(zip(labels, row, strict=True))
            predictions.append(
                {
                    "id": inst.get("id"),
                    "prediction_id": f"{job.id}-{n}",
                    "prediction": label,
                    "probabilities": p,
                    "model_version": version,
                }
            )
            conf.append(p[label])
        log_records = prediction_log.records(
            job.id,
            version,
            numbers=range(len(instances)),
            features={k: [inst[k] for inst in instances] for k in names},
            prediction=chosen,
            probabilities={c: proba[start:end, j].tolist() for j, c in enumerate(labels)},
            ts=now,
            tenant=job.tenant or "",
        )
        outcome = Outcome(
            job.id,
            JobStatus.SUCCEEDED,
            result={"predictions": predictions},
            log_records=log_records,
        )
        out.append(Scored(outcome, version, chosen, conf))
        start = end
    return out


def _failed(job: Job, exc: BaseException) -> Scored:
    log.warning("prediction job %s failed: %s", job.id, exc, exc_info=exc)
    outcome = Outcome(job.id, JobStatus.FAILED, error=lifecycle.error_of(exc))
    return Scored(outcome, job.model_version, [], [])


def _count(jobs: list[Job], scored: list[Scored], finished: list[bool]) -> None:
    """Metrics for the jobs this call finished (a refused second finish counts nothing)."""

    by_id = {j.id: j for j in jobs}
    now = time.time()
    predicted: Counter[tuple[str | None, str]] = Counter()
    confidences: defaultdict[str, list[float]] = defaultdict(list)
    for sc, done in zip(scored, finished, strict=True):
        if not done:
            continue
        lifecycle.count_finished(by_id[sc.outcome.job_id], sc.outcome, now)
        if sc.outcome.status is JobStatus.FAILED:
            metrics.PREDICTION_ERRORS.labels(sc.outcome.error["type"]).inc()
        predicted.update((sc.model_version, label) for label in sc.labels)
        for label, conf in zip(sc.labels, sc.confidences, strict=True):
            confidences[label].append(conf)
    for label, values in confidences.items():
        metrics.observe_many(metrics.PREDICTION_CONFIDENCE.labels(label), values)
    for (version, label), count in predicted.items():
        metrics.PREDICTIONS.labels(version, label).inc(count)
