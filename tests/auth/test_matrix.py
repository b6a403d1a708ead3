"""Who may call what: every route of ``app.url_map`` by every kind of caller → its status.

The scope table below is this test's own: a route it does not name fails the first test,
so a new route cannot be added without saying who may call it. The callers: no key, an
unknown, a revoked or an expired key, a key lacking the route's scope, another tenant's
key with the scope, and the right key. Real gunicorn (two workers), worker and Redis.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.apikeys import SCOPES
from core.settings import Settings
from devsupport import KeyedHTTP, Stack, new_token
from tests.auth.conftest import batch, csv_of, drift_report, finished, predict
from tests.payloads import PASSENGER
from web.api.document import openapi_path
from web.app import create_app

pytestmark = pytest.mark.integration
PUBLIC = "public"  # no key needed
ANY = "any"  # any usable key, whatever its scopes
OWNER, OTHER = "matrix-owner", "matrix-other"
EXPIRES_IN = 2.0  # seconds the expired keys were valid for

# (method, route) -> the scope it needs, and whether it concerns one tenant's job (404 for
# another tenant's key)
SCOPE_TABLE: dict[tuple[str, str], tuple[str, bool]] = {
    ("GET", "/health"): (PUBLIC, False),
    ("GET", "/ready"): (PUBLIC, False),
    ("GET", "/openapi.json"): (PUBLIC, False),
    ("GET", "/docs"): (PUBLIC, False),
    ("GET", "/docs/assets/<path:filename>"): (PUBLIC, False),
    ("GET", "/metrics"): ("metrics", False),
    # the console's pages and files: no data in them (their scripts call the API with a key)
    ("GET", "/console/"): (PUBLIC, False),
    ("GET", "/console/<name>"): (PUBLIC, False),
    ("GET", "/console/jobs/<job_id>"): (PUBLIC, False),
    ("GET", "/console/report-frame"): (PUBLIC, False),
    ("GET", "/console/static/<path:filename>"): (PUBLIC, False),
    ("POST", "/api/v1/predictions"): ("predict", False),
    ("POST", "/api/v1/batches"): ("batch", False),
    ("POST", "/api/v1/reports"): ("report", False),
    ("POST", "/api/v1/feedback"): ("feedback", False),
    ("GET", "/api/v1/jobs"): ("read", False),
    ("GET", "/api/v1/jobs/<job_id>"): ("read", True),
    ("GET", "/api/v1/jobs/<job_id>/result"): ("read", True),
    ("GET", "/api/v1/jobs/<job_id>/report"): ("read", True),
    ("POST", "/api/v1/jobs/<job_id>/cancel"): ("predict", True),  # of a prediction job
    ("DELETE", "/api/v1/jobs/<job_id>"): ("predict", True),
    ("GET", "/api/v1/models"): (ANY, False),
    ("GET", "/api/v1/models/<version>"): (ANY, False),
    ("GET", "/api/v1/models/<version>/monitoring"): ("monitor", False),
    ("POST", "/api/v1/keys"): ("admin", False),
    ("GET", "/api/v1/deployment"): ("admin", False),
    ("PUT", "/api/v1/deployment"): ("admin", False),
    ("POST", "/api/v1/models/<version>/promote"): ("admin", False),
    ("POST", "/api/v1/deployment/rollback"): ("admin", False),
    ("GET", "/api/v1/deployment/history"): ("admin", False),
    ("GET", "/api/v1/keys"): ("admin", False),
    ("DELETE", "/api/v1/keys/<key_id>"): ("admin", False),
    ("GET", "/api/v1/webhooks/secret"): ("admin", False),
    ("POST", "/api/v1/webhooks/secret/rotate"): ("admin", False),
}


def routes() -> list[tuple[str, str]]:
    """Every (method, route) the app serves, from its route table."""
    app = create_app(Settings(redis_url="redis://127.0.0.1:1/0", models_dir=Path("models")))
    return sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    )


ROUTES = routes()
CALLERS = ("no key", "unknown key", "revoked key", "expired key", "lacking scope", "other tenant")


@dataclass
class World:
    """The stack, the owner's resources, and a way to make a key of any kind."""

    stack: Stack
    jobs: dict[str, str]  # what the owner made: prediction, batch, report
    expired: dict[str, KeyedHTTP]  # an expired owner key per scope
    revoked: dict[str, KeyedHTTP]  # a revoked owner key per scope (used once before)

    def key(self, tenant: str, *scopes: str) -> KeyedHTTP:
        return self.stack.make_key(tenant, *scopes)


def success(world: World, method: str, route: str, http: KeyedHTTP) -> Any:
    """Call the route as its right caller would; the request's answer."""
    s = world.stack
    url = s.url
    jobs = world.jobs
    calls: dict[tuple[str, str], Callable[[], Any]] = {
        ("GET", "/docs/assets/<path:filename>"): lambda: http.get(
            url("/docs/assets/css/swagger-ui.css")
        ),
        ("GET", "/console/<name>"): lambda: http.get(url("/console/predict")),
        ("GET", "/console/jobs/<job_id>"): lambda: http.get(url(f"/console/jobs/{jobs['batch']}")),
        ("GET", "/console/static/<path:filename>"): lambda: http.get(
            url("/console/static/console.css")
        ),
        ("POST", "/api/v1/predictions"): lambda: http.post(
            url("/api/v1/predictions"), json={"instances": [PASSENGER]}
        ),
        ("POST", "/api/v1/batches"): lambda: http.post(
            url("/api/v1/batches"), data=csv_of(3), headers={"Content-Type": "text/csv"}
        ),
        ("POST", "/api/v1/reports"): lambda: http.post(
            url("/api/v1/reports"),
            data=csv_of(120),
            headers={"Content-Type": "text/csv"},
            params={"type": "drift"},
        ),
        ("POST", "/api/v1/feedback"): lambda: http.post(
            url("/api/v1/feedback"),
            json={"items": [{"prediction_id": f"{jobs['batch']}-0", "actual": "survived"}]},
        ),
        ("GET", "/api/v1/jobs/<job_id>"): lambda: http.get(url(f"/api/v1/jobs/{jobs['batch']}")),
        ("GET", "/api/v1/jobs/<job_id>/result"): lambda: http.get(
            url(f"/api/v1/jobs/{jobs['batch']}/result")
        ),
        ("GET", "/api/v1/jobs/<job_id>/report"): lambda: http.get(
            url(f"/api/v1/jobs/{jobs['report']}/report")
        ),
        ("POST", "/api/v1/jobs/<job_id>/cancel"): lambda: http.post(
            url(f"/api/v1/jobs/{fresh_prediction(world)}/cancel")
        ),
        ("DELETE", "/api/v1/jobs/<job_id>"): lambda: http.delete(
            url(f"/api/v1/jobs/{fresh_prediction(world)}")
        ),
        ("GET", "/api/v1/models/<version>"): lambda: http.get(url("/api/v1/models/test-v1")),
        ("GET", "/api/v1/models/<version>/monitoring"): lambda: http.get(
            url("/api/v1/models/test-v1/monitoring")
        ),
        ("POST", "/api/v1/keys"): lambda: http.post(
            url("/api/v1/keys"), json={"name": "made", "tenant": "x", "scopes": ["read"]}
        ),
        ("PUT", "/api/v1/deployment"): lambda: http.request(
            "PUT", url("/api/v1/deployment"), json={"default": "test-v1"}
        ),
        ("POST", "/api/v1/models/<version>/promote"): lambda: http.post(
            url("/api/v1/models/test-v1/promote")
        ),
        ("DELETE", "/api/v1/keys/<key_id>"): lambda: http.delete(
            url(f"/api/v1/keys/{throwaway_key_id(world)}")
        ),
    }
    default = lambda: http.request(method, url(openapi_path(route)))  # noqa: E731
    return calls.get((method, route), default)()


STATUS = {"POST /api/v1/predictions": 202, "POST /api/v1/batches": 202}
STATUS |= {"POST /api/v1/reports": 202, "POST /api/v1/keys": 201}
# one version installed: a default never changes, so there is never one to roll back to
STATUS |= {"POST /api/v1/deployment/rollback": 409}


def fresh_prediction(world: World) -> str:
    """A queued prediction job of the owner (no worker runs predictions here)."""
    return predict(world.stack, world.key(OWNER, "predict"))["id"]


def throwaway_key_id(world: World) -> str:
    r = world.stack.http.post(
        world.stack.url("/api/v1/keys"),
        json={"name": "to revoke", "tenant": "x", "scopes": ["read"]},
    )
    return r.json()["id"]


@pytest.fixture(scope="module")
def world(held_stack: Stack) -> World:
    s = held_stack
    owner_batch = s.make_key(OWNER, "batch", "read")
    jobs = {
        "prediction": predict(s, s.make_key(OWNER, "predict"))["id"],
        "batch": batch(s, owner_batch)["id"],
        "report": drift_report(s, s.make_key(OWNER, "report"))["id"],
    }
    expires = datetime.now(UTC) + timedelta(seconds=EXPIRES_IN)
    expired = {scope: s.make_key(OWNER, scope, expires_at=expires.isoformat()) for scope in SCOPES}
    revoked = {scope: s.make_key(OWNER, scope) for scope in SCOPES}
    for http in revoked.values():
        assert http.get(s.url("/api/v1/models")).status_code == 200  # verified, and cached
        assert s.http.delete(s.url(f"/api/v1/keys/{http.key_id}")).ok
    for kind in ("batch", "report"):
        assert finished(s, owner_batch, jobs[kind])["status"] == "succeeded"
    # past the expiry, and past the second a process trusts a key it has verified
    time.sleep(max(1.05, (expires - datetime.now(UTC)).total_seconds() + 0.1))
    return World(s, jobs, expired, revoked)


def test_every_route_has_a_rule_in_the_scope_table() -> None:
    assert sorted(SCOPE_TABLE) == ROUTES


def test_each_operation_declares_the_scope_the_table_gives_it() -> None:
    app = create_app(Settings(redis_url="redis://127.0.0.1:1/0", models_dir=Path("models")))
    for rule in app.url_map.iter_rules():
        operation = getattr(app.view_functions[rule.endpoint], "operation", None)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            scope, _ = SCOPE_TABLE[(method, rule.rule)]
            if scope == PUBLIC:
                assert operation is None or operation.public, rule.rule
            elif scope == ANY:
                assert operation.scopes == (), rule.rule
            else:
                assert scope in operation.scopes, rule.rule


@pytest.mark.parametrize(("method", "route"), ROUTES, ids=[f"{m} {r}" for m, r in ROUTES])
@pytest.mark.parametrize("caller", [*CALLERS, "right key"])
def test_the_route_answers_each_caller_as_its_rule_says(
    world: World, method: str, route: str, caller: str
) -> None:
    scope, owned = SCOPE_TABLE[(method, route)]
    needed = "read" if scope in (PUBLIC, ANY) else scope
    right = STATUS.get(f"{method} {route}", 200)
    http: KeyedHTTP
    if caller == "no key":
        http = _Anonymous()
        expected = 401
    elif caller == "unknown key":
        http = KeyedHTTP(new_token())
        expected = 401
    elif caller == "revoked key":
        http = world.revoked[needed]
        expected = 401
    elif caller == "expired key":
        http = world.expired[needed]
        expected = 401
    elif caller == "lacking scope":
        http = world.key(OWNER, *(s for s in SCOPES if s not in (needed, "admin")))
        expected = 403
    elif caller == "other tenant":
        http = world.key(OTHER, needed)
        expected = 404 if owned else right
    else:
        http = world.key(OWNER, needed)
        expected = right
    if scope == PUBLIC:
        expected = right  # a public route does not look at the key
    if scope == ANY and caller == "lacking scope":
        expected = right
    got = success(world, method, route, http)
    assert got.status_code == expected, got.text[:500]
    if expected in (401, 403, 404):
        assert got.headers["Content-Type"] == "application/problem+json"
    if expected == 401:
        assert got.headers["WWW-Authenticate"].startswith("Bearer")


class _Anonymous(KeyedHTTP):
    """Sends no Authorization header at all."""

    def __init__(self) -> None:
        super().__init__("")

    @property
    def headers(self) -> dict[str, str]:
        return {}
