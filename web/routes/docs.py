"""``/openapi.json`` and Swagger UI at ``/docs``, served from local files (no internet)."""

from __future__ import annotations

from pathlib import Path

import flask_openapi3_swagger
from flask import Blueprint, Response, current_app, jsonify

from web.api import models as api
from web.api.document import document
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
@api.OPENAPI
def openapi() -> Response:
    return jsonify(document(current_app, services()))


@bp.get("/docs")
@api.SWAGGER_UI
def swagger_ui() -> Response:
    return Response(PAGE, mimetype="text/html")
