"""``/api/v1/models``: installed model versions and their cards."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from core.errors import ModelVersionNotFound
from ml.errors import ModelNotFound
from web.services import services

bp = Blueprint("models", __name__, url_prefix="/api/v1")


@bp.get("/models")
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
def get_model(version: str) -> Response:
    catalog = services().catalog
    try:
        card = catalog.registry.card(version)
    except ModelNotFound as exc:
        raise ModelVersionNotFound(f"no installed model version {version!r}") from exc
    return jsonify(
        {"version": version, "default": version == catalog.default_version(), "card": card}
    )
