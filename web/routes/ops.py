"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import threading
import time

import redis
from flask import Blueprint, Response, jsonify

from core import backlog
from core.queue import QUEUES
from telemetry.multiprocess import exposition
from web.api import models as api
from web.services import Services, services

bp = Blueprint("ops", __name__)
WORKER_PING_TIMEOUT = 1.0  # seconds to wait for workers to answer a ping
WORKER_PING_CACHE = 5.0  # seconds a positive ping answer is reused
_ping_lock = threading.Lock()
_last_pong: dict[str, float | list[str]] = {"at": 0.0, "workers": []}


@bp.get("/health")
@api.HEALTH
def health() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/ready")
@api.READY
def ready() -> tuple[Response, int]:
    svc = services()
    checks: dict[str, dict[str, object]] = {}
    try:
        svc.store.redis.ping()
        checks["redis"] = {"ok": True}
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        checks["redis"] = {"ok": False, "detail": f"Redis cannot be reached: {exc}"}
    try:
        version = svc.catalog.default_version()
        svc.catalog.verify(version)
        checks["model"] = {"ok": True, "version": version}
    except Exception as exc:  # noqa: BLE001 — any failure means the model is not ready
        checks["model"] = {"ok": False, "detail": str(exc)}
    workers = _workers(svc) if checks["redis"]["ok"] else []
    checks["workers"] = {"ok": bool(workers), "names": workers}
    if not workers:
        checks["workers"]["detail"] = "no Celery worker answered a ping"
    ok = all(c["ok"] for c in checks.values())
    return jsonify({"status": "ready" if ok else "not ready", "checks": checks}), (
        200 if ok else 503
    )


def _workers(svc: Services) -> list[str]:
    with _ping_lock:
        if time.monotonic() - float(_last_pong["at"]) < WORKER_PING_CACHE:
            return list(_last_pong["workers"])  # type: ignore[arg-type]
        try:
            replies = svc.celery.control.ping(timeout=WORKER_PING_TIMEOUT) or []
        except Exception:  # noqa: BLE001 — the broker went away between two checks
            replies = []
        names = sorted(name for reply in replies for name in reply)
        if names:
            _last_pong.update(at=time.monotonic(), workers=names)
        return names


@bp.get("/metrics")
@api.METRICS
def metrics() -> Response:
    store = services().store
    backlog.export(store.redis, store.keys, QUEUES)  # the autoscaling signals, read now
    body, content_type = exposition()
    return Response(body, content_type=content_type)
