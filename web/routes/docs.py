"""``/openapi.json`` and Swagger UI at ``/docs``, served from local files (no internet)."""

from __future__ import annotations

from pathlib import Path

import flask_openapi3_swagger
from flask import Blueprint, Response, jsonify

from web.openapi import document
from web.services import services

ASSETS = Path(flask_openapi3_swagger.__file__).parent / "templates" / "swagger"
bp = Blueprint("docs", __name__, static_folder=str(ASSETS), static_url_path="/docs/assets")

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Lifeboat API</title>
<link rel="stylesheet" href="/docs/assets/css/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/assets/js/swagger-ui-bundle.js"></script>
<script src="/docs/assets/js/swagger-ui-standalone-preset.js"></script>
<script>window.onload = () => { window.ui = SwaggerUIBundle({url: "/openapi.json",
dom_id: "#swagger-ui", presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
layout: "StandaloneLayout"}); };</script></body></html>"""


@bp.get("/openapi.json")
def openapi() -> Response:
    svc = services()
    try:
        schema = svc.catalog.schema(svc.catalog.default_version())
    except Exception:  # noqa: BLE001 — without a model the document still describes the API
        schema = None
    from web.routes import MODULES

    extra = {path: ops for m in MODULES for path, ops in getattr(m, "OPENAPI_PATHS", {}).items()}
    return jsonify(document(schema, svc.settings.max_instances, extra))


@bp.get("/docs")
def swagger_ui() -> Response:
    return Response(PAGE, mimetype="text/html")
