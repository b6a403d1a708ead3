"""``/api/v1/keys``: API keys, for admins. The token is shown once, in the answer to POST."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify

from core import stores
from core.apikeys import ApiKey, KeyStore
from core.errors import InvalidRequest, KeyConflict
from core.timestamps import iso
from web import auth
from web.api import keys as api
from web.callbacks import checked
from web.services import services

bp = Blueprint("keys", __name__, url_prefix="/api/v1")


def _store() -> KeyStore:
    svc = services()
    return stores.api_keys(svc.settings, svc.store.redis)


def key_resource(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "tenant": key.tenant,
        "scopes": sorted(key.scopes),
        "created_at": iso(key.created_at),
        "last_used_at": iso(key.last_used_at),
        "expires_at": iso(key.expires_at),
        "revoked": key.revoked,
        "rate_limit_per_second": key.rate_limit_per_second,
        "max_active_jobs": key.max_active_jobs,
        "max_active_batches": key.max_active_batches,
        "max_stored_bytes": key.max_stored_bytes,
        "callback_url": key.callback_url,
    }


@bp.post("/keys")
@api.CREATE_KEY
def create_key() -> tuple[Response, int]:
    body, _ = api.CREATE_KEY.read_json(services())
    key, token = _store().create(
        name=body["name"],
        tenant=body["tenant"],
        scopes=frozenset(body["scopes"]),
        expires_at=_moment(body.get("expires_at")),
        rate_limit_per_second=_number(body.get("rate_limit_per_second"), float),
        max_active_jobs=_number(body.get("max_active_jobs"), int),
        max_active_batches=_number(body.get("max_active_batches"), int),
        max_stored_bytes=_number(body.get("max_stored_bytes"), int),
        callback_url=_checked_callback(body.get("callback_url")),
    )
    resp = jsonify({**key_resource(key), "token": token})
    resp.headers["Cache-Control"] = "no-store"  # it holds a secret
    return resp, 201


@bp.get("/keys")
@api.LIST_KEYS
def list_keys() -> Response:
    return jsonify({"keys": [key_resource(k) for k in _store().list()]})


@bp.delete("/keys/<key_id>")
@api.REVOKE_KEY
def revoke_key(key_id: str) -> Response:
    if key_id == auth.current_key().id:  # an admin locking itself out is never what was meant
        raise KeyConflict("a key cannot revoke itself: revoke it with another admin key")
    return jsonify(key_resource(_store().revoke(key_id)))


def _checked_callback(url: str | None) -> str | None:
    return checked(url, ["callback_url"]) if url else None


def _number(value: float | None, kind: type) -> Any:
    """JSON Schema's integers include 3.0: stored as the type the record reads back."""
    return None if value is None else kind(value)


def _moment(value: str | None) -> float | None:
    """An RFC 3339 date-time (syntax checked by the schema) as epoch seconds; one already
    past makes a key that is expired from the start, as the schema allows."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.upper())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    except (ValueError, OverflowError) as exc:
        raise _invalid(f"not a representable date-time: {exc}") from exc


def _invalid(msg: str) -> InvalidRequest:
    return InvalidRequest("1 invalid field", errors=[{"loc": ["expires_at"], "msg": msg}])
