"""``/api/v1/models``: installed model versions and their cards."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from core.errors import ModelVersionNotFound
from core.monitoring_records import latest
from ml.errors import ModelNotFound
from web.api import models as api
from web.services import services

bp = Blueprint("models", __name__, url_prefix="/api/v1")


@bp.get("/models")
@api.LIST_MODELS
def list_models() -> Response:
    catalog = services().catalog
    versions = catalog.registry.versions()
    default = catalog.default_version() if versions else None
    models = []
    for version in versions:
        card = catalog.registry.card(version)
        models.append(
            {
                "version": version,
                "default": version == default,
                "created_at": card.get("created_at"),
                "estimator": card.get("estimator"),
                "holdout_metrics": card.get("holdout_metrics"),
                "links": {"self": f"/api/v1/models/{version}"},
            }
        )
    return jsonify({"default": default, "models": models})


@bp.get("/models/<version>")
@api.GET_MODEL
def get_model(version: str) -> Response:
    catalog = services().catalog
    card = _card(version)
    return jsonify(
        {
            "version": version,
            "default": version == catalog.default_version(),
            "card": card,
            "links": {"monitoring": f"/api/v1/models/{version}/monitoring"},
        }
    )


@bp.get("/models/<version>/monitoring")
@api.GET_MONITORING
def get_monitoring(version: str) -> Response:
    """What the workers last measured of a version: drift check and accuracy (null if never)."""
    svc = services()
    _card(version)
    return jsonify({"version": version, **latest(svc.store.redis, svc.store.keys, version)})


def _card(version: str) -> dict[str, Any]:
    try:
        return services().catalog.registry.card(version)
    except ModelNotFound as exc:
        raise ModelVersionNotFound(f"no installed model version {version!r}") from exc
