"""``/api/v1/batches``: not built yet."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

bp = Blueprint("batches", __name__, url_prefix="/api/v1")
OPENAPI_PATHS: dict[str, Any] = {}  # merged into /openapi.json
