"""JSON responses encoded with msgspec: a 1000-prediction job encodes several times faster."""

from __future__ import annotations

from typing import Any

import msgspec
from flask import Response

_encoder = msgspec.json.Encoder()


def json_response(body: Any, status: int = 200) -> Response:
    return Response(_encoder.encode(body), status=status, mimetype="application/json")
