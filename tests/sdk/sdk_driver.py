"""Scenarios run INSIDE the fresh venv (``python sdk_driver.py SCENARIO [ARGS]``): they use
lifeboat_client and the standard library only, and print what they saw as one JSON object.

The server is ``$LIFEBOAT_URL``, the key ``$LIFEBOAT_API_KEY`` (read by ``Client()``).
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from typing import Any

import httpx

import lifeboat_client
from lifeboat_client import (
    NO_RETRIES,
    AsyncClient,
    Client,
    NotFound,
    Progress,
    RetryPolicy,
    TooManyRequests,
    Unauthorized,
    ValidationError,
    WaitTimeout,
)

PASSENGER = {"pclass": 1, "sex": "female", "age": 29.0, "sibsp": 0, "parch": 0, "fare": 211.34}


def passengers(n: int) -> list[dict[str, Any]]:
    return [
        {**PASSENGER, "embarked": "SCQ"[i % 3], "pclass": 1 + i % 3, "age": float(1 + i % 70)}
        | {"sex": ("male", "female")[i % 2], "fare": float(5 + i % 200), "id": f"p{i}"}
        for i in range(n)
    ]


def csv_of(n: int) -> bytes:
    cols = ["passenger", "pclass", "sex", "age", "sibsp", "parch", "fare", "embarked"]
    lines = [",".join(cols)]
    for p in passengers(n):
        lines.append(",".join(str(p["id" if c == "passenger" else c]) for c in cols))
    return ("\n".join(lines) + "\n").encode()


def where() -> dict[str, Any]:
    return {"file": lifeboat_client.__file__, "version": lifeboat_client.__version__}


def tour_predictions() -> dict[str, Any]:
    """Predictions and jobs, with a worker running."""
    out: dict[str, Any] = {}
    with Client() as lb:
        job = lb.predict(passengers(3), wait=60)
        out["predict"] = {"status": job.status, "ids": [p.id for p in job.predictions]}
        out["labels"] = sorted(set(job.predictions[0].probabilities))
        submitted = lb.submit(passengers(2))
        waited = lb.wait(submitted.id, 60)
        out["wait"] = {"same": waited.id == submitted.id, "status": waited.status}
        out["job"] = lb.job(job.id).status
        page = lb.jobs(limit=2, type="prediction")
        out["jobs"] = [j.id for j in page.jobs] == [submitted.id, job.id]
        out["iter_jobs"] = len(list(lb.iter_jobs(type="prediction", limit=200)))
        try:
            lb.submit([{**PASSENGER, "embarked": "S", "age": -5}])
        except ValidationError as exc:
            out["invalid"] = {"status": exc.status, "title": exc.title, "loc": exc.errors[0]["loc"]}
        try:
            lb.job("no-such-job")
        except NotFound as exc:
            out["not_found"] = exc.status
    return out


def tour_files(workdir: str) -> dict[str, Any]:
    """Batches, reports and feedback, with a worker running."""
    out: dict[str, Any] = {}
    phases: list[str] = []

    def seen(p: Progress) -> None:
        phases.append(p.phase)

    with Client() as lb:
        scored = f"{workdir}/scored.csv"
        batch = lb.batch(io.BytesIO(csv_of(30)), to=scored, id_column="passenger", on_progress=seen)
        with open(scored) as f:
            out["batch"] = {"status": batch.status, "lines": len(f.read().splitlines())}
        out["phases"] = sorted(set(phases))
        parquet = lb.result(batch.id, format="parquet")
        out["parquet_magic"] = parquet[:4].decode() if parquet else None
        job = lb.predict(passengers(120), wait=60)
        report = lb.report("drift", 100, wait=240)
        out["report"] = {"status": report.status, "type": report.type}
        out["report_html"] = "<html" in (lb.report_html(report.id) or "").lower()
        ids = [p.prediction_id for p in job.predictions[:2]]
        fb = lb.feedback([(ids[0], "survived"), {"prediction_id": ids[1], "actual": "died"}])
        out["feedback"] = {"accepted": fb.accepted, "unknown": fb.unknown}
        again = lb.feedback([(ids[0], "survived"), ("unknown-id", "died")])
        out["feedback_again"] = {"duplicate": again.duplicate, "unknown": again.unknown}
    return out


def tour_admin() -> dict[str, Any]:
    """Models, monitoring and API keys, with an admin key."""
    out: dict[str, Any] = {}
    with Client() as lb:
        models = lb.models()
        default = next(m.version for m in models if m.default)
        out["models"] = len(models)
        out["model_card_has_schema"] = "feature_schema" in lb.model(default).card
        out["monitoring"] = lb.monitoring(default).version == default
        key = lb.create_key("sdk tour", "sdk-tour", ["predict", "read"])
        out["key"] = {"tenant": key.tenant, "has_token": bool(key.token)}
        out["key_listed"] = key.id in [k.id for k in lb.keys()]  # noqa: SIM118 - not a dict
        with Client(api_key=key.token) as tenant:
            out["tenant_predict"] = tenant.predict(passengers(1)).status
        # a key no web process has seen yet (none caches it): refused at once once revoked
        unused = lb.create_key("sdk tour, revoked", "sdk-tour", ["read"])
        out["revoked"] = lb.revoke_key(unused.id).revoked
        with Client(api_key=unused.token, retry=NO_RETRIES) as tenant:
            try:
                tenant.models()
            except Unauthorized as exc:
                out["revoked_key"] = {"status": exc.status, "title": exc.title}
        out["ready"] = lb.ready()
    return out


def submit() -> dict[str, Any]:
    with Client() as lb:
        job = lb.submit(passengers(1))
    return {"id": job.id}


def submit_batch(path: str) -> dict[str, Any]:
    with Client() as lb:
        job = lb.submit_batch(path)
    return {"id": job.id}


class Counting(httpx.HTTPTransport):
    """The statuses of every answer, retries included."""

    statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        resp = super().handle_request(request)
        self.statuses.append(resp.status_code)
        return resp


def rate_limited(calls: str) -> dict[str, Any]:
    answered = 0
    with Client(transport=Counting(), retry=RetryPolicy(attempts=10)) as lb:
        for _ in range(int(calls)):
            lb.models()
            answered += 1
    with Client(retry=NO_RETRIES) as lb:
        try:
            for _ in range(int(calls)):
                lb.models()
            refused = None
        except TooManyRequests as exc:
            refused = {"status": exc.status, "retry_after": exc.retry_after}
    return {"answered": answered, "statuses": Counting.statuses, "refused": refused}


def report_dropped() -> dict[str, Any]:
    """A report submission whose answer is lost: sent again with the same Idempotency-Key."""
    with Client() as lb:
        job = lb.report("drift", 100)
    return {"id": job.id}


def idle() -> dict[str, Any]:
    """With no worker: jobs stay queued."""
    out: dict[str, Any] = {}
    with Client() as lb:
        job = lb.submit(passengers(1))
        try:
            lb.wait(job.id, 1)
        except WaitTimeout as exc:
            out["timeout"] = exc.job.status
        out["cancel"] = lb.cancel(job.id).status
        out["cancel_again"] = lb.cancel(job.id).status
        out["after"] = lb.wait(job.id, 5).status
    return out


async def _async_tour() -> dict[str, Any]:
    async with AsyncClient() as lb:
        job = await lb.predict(passengers(3))
        batch = await lb.submit_batch(io.BytesIO(csv_of(5)), id_column="passenger")
        batch = await lb.wait(batch.id, 60)
        scored = await lb.result(batch.id)
        page = await lb.jobs(limit=3)
        models = await lb.models()
        policy = await lb.set_deployment(models[0].version)
        changes = await lb.deployment_history(limit=1)
        shown = await lb.deployment()
    return {
        "predict": [p.id for p in job.predictions],
        "batch_lines": len((scored or b"").splitlines()),
        "jobs": [j.id for j in page.jobs[:2]] == [batch.id, job.id],
        "models": len(models),
        "deployment": [policy.default == models[0].version, policy.revision == shown.revision],
        "history": [changes[0].action, changes[0].after.revision == policy.revision],
    }


def async_tour() -> dict[str, Any]:
    return asyncio.run(_async_tour())


SCENARIOS = {
    "where": where,
    "tour_predictions": tour_predictions,
    "tour_files": tour_files,
    "tour_admin": tour_admin,
    "submit": submit,
    "submit_batch": submit_batch,
    "rate_limited": rate_limited,
    "idle": idle,
    "report_dropped": report_dropped,
    "async_tour": async_tour,
}

if __name__ == "__main__":
    print(json.dumps(SCENARIOS[sys.argv[1]](*sys.argv[2:]), default=str))
