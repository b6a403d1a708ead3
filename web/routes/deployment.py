"""``/api/v1/deployment`` and ``/api/v1/models/{version}/promote``: the traffic policy, for
admins. Each change is one Redis transaction with its audit entry (``core.deployment``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify

from core import deployment, stores
from core.deployment import Canary, DeploymentStore, Guard, Policy
from core.errors import InvalidRequest, ModelVersionNotFound
from core.timestamps import iso
from telemetry import metrics
from web import auth
from web.api import deployment as api
from web.services import services

bp = Blueprint("deployment", __name__, url_prefix="/api/v1")


def _store() -> DeploymentStore:
    svc = services()
    return stores.deployment(svc.settings, svc.store.redis)


def policy_resource(policy: Policy) -> dict[str, Any]:
    return {**policy.to_dict(), "updated_at": iso(policy.updated_at)}


def _current() -> Policy:
    """The policy serving now: the stored one, else the models folder's default alone."""
    catalog = services().catalog
    stored = _store().read()
    if stored is not None and stored.default in catalog.registry.versions():
        return stored
    return Policy(catalog.folder_default(), revision=stored.revision if stored else 0)


def _change(action: str, edit: Callable[[Policy | None, str], Policy]) -> Response:
    """Apply a change and answer the new policy; this process uses it from now on."""
    catalog = services().catalog
    current = catalog.folder_default()  # what serves when no stored default is installed
    installed = catalog.registry.versions()

    def apply(before: Policy | None) -> Policy:
        serving = before.default if before and before.default in installed else current
        return edit(before, serving)

    key = auth.current_key()
    after = _store().change(action, {"key_id": key.id, "tenant": key.tenant}, apply)
    metrics.DEPLOYMENT_CHANGES.labels(action).inc()
    if catalog.policies is not None:
        catalog.policies.put(after)
    return jsonify(policy_resource(after))


@bp.get("/deployment")
@api.GET_DEPLOYMENT
def get_deployment() -> Response:
    return jsonify(policy_resource(_current()))


@bp.put("/deployment")
@api.PUT_DEPLOYMENT
def put_deployment() -> Response:
    body, _ = api.PUT_DEPLOYMENT.read_json(services())
    _check_installed(body)
    raw = body.get("canary")
    canary = Canary(raw["version"], float(raw["share"])) if raw else None
    shadow = list(body.get("shadow") or [])
    guard = Guard.from_dict(body["guard"]) if body.get("guard") else None
    return _change(
        "set",
        lambda before, serving: deployment.replaced(
            before, serving, body["default"], canary, shadow, guard=guard
        ),
    )


@bp.post("/models/<version>/promote")
@api.PROMOTE
def promote(version: str) -> Response:
    if not services().catalog.is_installed(version):
        raise ModelVersionNotFound(f"no installed model version {version!r}")
    return _change("promote", lambda before, serving: deployment.promoted(before, serving, version))


@bp.post("/deployment/rollback")
@api.ROLLBACK
def rollback() -> Response:
    return _change("rollback", lambda before, _: deployment.rolled_back(before))


@bp.get("/deployment/history")
@api.HISTORY
def history() -> Response:
    limit = api.HISTORY.read_params(services())["limit"]
    return jsonify({"history": [_entry_resource(e) for e in _store().history(limit)]})


def _entry_resource(entry: dict[str, Any]) -> dict[str, Any]:
    before = entry["before"] and Policy.from_dict(entry["before"])
    return {
        **entry,
        "at": iso(entry["at"]),
        "before": before and policy_resource(before),
        "after": policy_resource(Policy.from_dict(entry["after"])),
    }


def _check_installed(body: dict[str, Any]) -> None:
    """422 naming every field whose version is not installed (the schema's list of installed
    versions may be a moment old, or absent when none is installed)."""
    catalog = services().catalog
    named: list[tuple[list[str | int], Any]] = [(["default"], body["default"])]
    if body.get("canary"):
        named.append((["canary", "version"], body["canary"]["version"]))
    named += [(["shadow", i], v) for i, v in enumerate(body.get("shadow") or [])]
    errors = [
        {"loc": loc, "msg": f"no installed model version {v!r} (installed: {catalog.versions()})"}
        for loc, v in named
        if not catalog.is_installed(v)
    ]
    if errors:
        raise InvalidRequest(
            f"{len(errors)} invalid field{'s' * (len(errors) != 1)}", errors=errors
        )
