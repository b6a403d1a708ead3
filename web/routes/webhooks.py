"""``/api/v1/webhooks/secret``: the signing secret of the caller's tenant, for its admin."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from core.webhooks.signing import SigningSecrets
from web import auth
from web.api import webhooks as api
from web.services import services

bp = Blueprint("webhooks", __name__, url_prefix="/api/v1")


def _secrets() -> SigningSecrets:
    svc = services()
    return SigningSecrets(svc.store.redis, svc.store.keys)


def _answer(secret: str) -> Response:
    resp = jsonify({"tenant": auth.tenant(), "secret": secret})
    resp.headers["Cache-Control"] = "no-store"  # it holds a secret
    return resp


@bp.get("/webhooks/secret")
@api.GET_SECRET
def get_secret() -> Response:
    return _answer(_secrets().get(auth.tenant()))


@bp.post("/webhooks/secret/rotate")
@api.ROTATE_SECRET
def rotate_secret() -> Response:
    return _answer(_secrets().rotate(auth.tenant()))
