"""The canary's guard: its automatic rollback when it fails past the policy's thresholds.

The scoring worker counts, after it has finished its jobs, the canary's predictions and
failed ones under the policy's revision (:func:`count_canary`; only while the policy has
a canary and a guard: one pipelined call per micro-batch). Beat runs :func:`check` every
``LIFEBOAT_GUARD_CHECK_SECONDS``: once the canary has made ``min_predictions``, an error
rate above ``max_error_rate`` ends it; once ``min_labelled`` of its predictions made since
the policy's last change have feedback, an accuracy below ``min_accuracy`` ends it. The
canary's end is a change of the policy like any other (audit entry: action ``guard``,
who ``{"key_id": "guard"}``, with the reason), and counts
``lifeboat_deployment_guard_rollbacks_total``, on which the ``CanaryRolledBack`` alert
fires. Every change of the policy starts the counts again (a new revision).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from core import deployment, stores
from core.deployment import Guard, Policy, Routing
from core.errors import DeploymentConflict
from core.jobs import Job, JobStatus, Outcome
from core.stores import feedback_store
from telemetry import metrics
from workers.runtime import Runtime

log = logging.getLogger(__name__)

WHO = {"key_id": "guard", "tenant": ""}  # the audit entry's author
COUNTS_TTL = 7 * 86_400  # seconds a revision's counts are kept after its last prediction
PREDICTIONS, FAILED = "predictions", "failed"  # fields of ``Keys.guard_counts``


def count_canary(
    rt: Runtime, jobs: Sequence[Job], outcomes: Sequence[Outcome], finished: Sequence[bool]
) -> None:
    """Count the canary's predictions among the jobs this call finished. Logs, never
    raises: the jobs have finished whatever happens here."""
    try:
        policy = rt.policies.get()
        if policy is None or policy.canary is None or policy.guard is None:
            return
        by_id = {j.id: j for j in jobs}
        total = failed = 0
        for outcome, done in zip(outcomes, finished, strict=True):
            job = by_id[outcome.job_id]
            if not done or job.routing != Routing.CANARY:
                continue
            if job.model_version != policy.canary.version:
                continue
            rows = max(1, job.progress_total)
            total += rows
            failed += rows if outcome.status is JobStatus.FAILED else 0
        if not total:
            return
        key = rt.keys.guard_counts(policy.revision)
        pipe = rt.redis.pipeline(transaction=False)
        pipe.hincrby(key, PREDICTIONS, total)
        pipe.hincrby(key, FAILED, failed)
        pipe.expire(key, COUNTS_TTL)
        pipe.execute()
    except Exception:
        log.exception("the canary's predictions could not be counted for its guard")


def verdict(guard: Guard, predictions: int, failed: int, labelled: int, correct: int) -> str | None:
    """Why the canary must end (None: it may go on), from its counts and its feedback."""
    if guard.max_error_rate is not None and predictions >= guard.min_predictions:
        rate = failed / predictions
        if rate > guard.max_error_rate:
            return (
                f"error rate {rate:.3f} of {predictions} predictions is above "
                f"max_error_rate {guard.max_error_rate}"
            )
    if guard.min_accuracy is not None and labelled >= guard.min_labelled:
        accuracy = correct / labelled
        if accuracy < guard.min_accuracy:
            return (
                f"accuracy {accuracy:.3f} on {labelled} labelled predictions is below "
                f"min_accuracy {guard.min_accuracy}"
            )
    return None


def _feedback(rt: Runtime, policy: Policy, version: str) -> tuple[int, int]:
    """(labelled, correct) among the version's predictions made since the policy's change."""
    since = policy.updated_at or 0.0
    store = feedback_store(rt.settings, rt.redis)
    outcomes = [o for o in store.labelled(version, rt.settings.accuracy_window) if o.ts >= since]
    return len(outcomes), sum(o.actual == o.prediction for o in outcomes)


def check(rt: Runtime) -> dict[str, Any]:
    """Judge the canary by its guard and end it if it fails; what was found, for the log."""
    store = stores.deployment(rt.settings, rt.redis)
    policy = store.read()
    if policy is None or policy.canary is None or policy.guard is None:
        return {"checked": False}
    version = policy.canary.version
    counts = rt.redis.hgetall(rt.keys.guard_counts(policy.revision))
    predictions = int(counts.get(PREDICTIONS.encode(), 0))
    failed = int(counts.get(FAILED.encode(), 0))
    labelled, correct = (
        _feedback(rt, policy, version) if policy.guard.min_accuracy is not None else (0, 0)
    )
    found = {"canary": version, "predictions": predictions, "failed": failed,
             "labelled": labelled, "correct": correct}  # fmt: skip
    reason = verdict(policy.guard, predictions, failed, labelled, correct)
    if reason is None:
        return {"checked": True, **found}

    def end(before: Policy | None) -> Policy:
        if before is None or before.revision != policy.revision:
            raise DeploymentConflict("the policy changed since the guard read it")
        return deployment.canary_ended(before, version)

    try:
        store.change("guard", WHO, end, reason=f"canary {version}: {reason}")
    except DeploymentConflict as exc:  # judged again at the next check, on the new policy
        return {"checked": True, "rolled_back": False, "detail": str(exc), **found}
    metrics.GUARD_ROLLBACKS.labels(version).inc()
    metrics.DEPLOYMENT_CHANGES.labels("guard").inc()  # an annotation on the dashboards too
    log.warning("guard: canary %s ended (%s)", version, reason)
    return {"checked": True, "rolled_back": True, "reason": reason, **found}
