"""The application factory: ``create_app(settings=None) -> Flask``, the web's one wiring point."""

from __future__ import annotations

import logging
import time

import redis
from flask import Flask, Response, g, request

from core import stores
from core.policy_cache import PolicyCache
from core.queue import PREDICT_TASK, make_celery
from core.settings import Settings, get_settings
from core.task_messages import TaskMessages
from telemetry import metrics
from web import admission, auth, console, errors, headers, rate_limits
from web.api.document import UNDOCUMENTED_ENDPOINTS
from web.catalog import Catalog
from web.publishing import CoalescingPublisher
from web.routes import MODULES
from web.services import Services
from web.waiting import CompletionWaiter

REDIS_CONNECTIONS = 64  # Redis connections the requests of one web process share at most
REDIS_POOL_WAIT = 5.0  # seconds a request waits for a free Redis connection (then 503)


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = Flask(__name__, static_folder=None)  # no static files of its own: a dead route less
    app.config["MAX_CONTENT_LENGTH"] = settings.max_json_bytes
    app.json.sort_keys = False  # type: ignore[attr-defined]

    # at most REDIS_CONNECTIONS per process: thousands of requests arriving at once
    # (long-polls) take turns on them instead of each opening a connection (2,000 at once
    # overflowed Redis's accept backlog: connect timeouts, 503s, seconds of delay)
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=REDIS_CONNECTIONS,
        timeout=REDIS_POOL_WAIT,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=30,
    )
    client = redis.Redis(connection_pool=pool)
    store = stores.job_store(settings, client)

    def subscriber() -> redis.Redis:  # no read timeout: the subscription idles between jobs
        return redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=2, socket_keepalive=True
        )

    celery = make_celery(settings)
    app.extensions["lifeboat"] = Services(
        settings=settings,
        store=store,
        celery=celery,
        predictions=CoalescingPublisher(
            TaskMessages(celery, PREDICT_TASK), client, linger=settings.publish_linger_ms / 1000
        ),
        waiter=CompletionWaiter(subscriber, store.done_channel),
        catalog=Catalog(
            stores.model_registry(settings), PolicyCache(stores.deployment(settings, client))
        ),
    )
    for module in MODULES:
        app.register_blueprint(module.bp)
    app.register_blueprint(console.bp)
    errors.register(app)
    headers.init_app(app)
    _instrument(app)
    keys = auth.VerifiedKeys(stores.api_keys(settings, client), settings.auth_cache_seconds)
    auth.register(app, keys, public_endpoints=UNDOCUMENTED_ENDPOINTS)  # then rate limits
    admission.init_app(app, settings, lambda: rate_limits.limited_key(app))  # after auth
    rate_limits.init_app(app, settings, client)  # after auth: it reads g.principal
    return app


def _instrument(app: Flask) -> None:
    """Count and time every request by route template (never by raw path), and count the
    requests in progress in this process (``Services.in_progress``)."""
    svc: Services = app.extensions["lifeboat"]

    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()
        svc.in_progress += 1
        g.counted = True

    @app.teardown_request
    def stop_counting(_exc: BaseException | None) -> None:
        if g.pop("counted", False):
            svc.in_progress -= 1

    @app.after_request
    def record(resp: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.HTTP_REQUESTS.labels(route, request.method, str(resp.status_code)).inc()
        metrics.HTTP_DURATION.labels(route, request.method).observe(
            time.perf_counter() - g.get("started", time.perf_counter())
        )
        return resp
