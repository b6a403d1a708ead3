"""``POST /api/v1/feedback``: ground truth for logged predictions, joined by ``prediction_id``."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from kombu.exceptions import OperationalError

from core import stores
from core.queue import UPDATE_ACCURACY_TASK
from web import auth
from web.api.feedback import POST_FEEDBACK
from web.services import Services, services

log = logging.getLogger(__name__)
bp = Blueprint("feedback", __name__, url_prefix="/api/v1")
MAX_UNKNOWN_LISTED = 100  # unknown ids echoed back in the answer


@bp.post("/feedback")
@POST_FEEDBACK
def post_feedback() -> Response:
    svc = services()
    body, _ = POST_FEEDBACK.read_json(svc)
    items = [(item["prediction_id"], item["actual"]) for item in body["items"]]
    store = stores.feedback_store(svc.settings, svc.store.redis)
    store.catch_up()
    result = store.record(items, tenant=auth.tenant())
    if result.model_versions:
        _refresh_accuracy(svc, result.model_versions)
    return jsonify(
        {
            "received": len(items),
            "accepted": result.accepted,
            "duplicate": result.duplicate,
            "unknown": result.unknown,
            "unknown_ids": result.unknown_ids[:MAX_UNKNOWN_LISTED],
            "model_versions": result.model_versions,
        }
    )


def _refresh_accuracy(svc: Services, versions: list[str]) -> None:
    """Ask a worker to update the accuracy gauges now (beat does it anyway, later)."""
    try:
        svc.celery.send_task(UPDATE_ACCURACY_TASK, args=[versions])
    except (OperationalError, OSError) as exc:  # the feedback is stored: do not fail the request
        log.warning("could not queue the accuracy update: %s", exc)
