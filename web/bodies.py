"""Reading a JSON request body, with the limits and errors the API promises."""

from __future__ import annotations

from typing import Any

import msgspec
from flask import request

from core.errors import MalformedBody, PayloadTooLarge, UnsupportedMediaType

_decoder = msgspec.json.Decoder()  # parses a 1000-instance body several times faster than json


def json_body(max_bytes: int) -> tuple[Any, bytes]:
    """The parsed JSON body and its raw bytes; 415, 413 or 400 when it is not acceptable."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise UnsupportedMediaType(
            f"send the body as application/json (got {mimetype or 'no content type'!r})",
            errors=[{"loc": ["header", "Content-Type"], "msg": "must be application/json"}],
        )
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    raw = request.stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise PayloadTooLarge(f"the body is larger than {max_bytes} bytes")
    try:
        return _decoder.decode(raw), raw
    except RecursionError as exc:  # msgspec recurses once per level of nesting
        raise MalformedBody(
            "the body is nested too deeply",
            errors=[{"loc": ["body"], "msg": "nested too deeply"}],
        ) from exc
    except (msgspec.DecodeError, ValueError, UnicodeDecodeError) as exc:
        raise MalformedBody(
            f"the body is not valid JSON: {exc}", errors=[{"loc": ["body"], "msg": str(exc)}]
        ) from exc
