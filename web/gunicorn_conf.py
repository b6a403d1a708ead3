"""gunicorn configuration: ``gunicorn -c web/gunicorn_conf.py "web.app:create_app()"``.

gevent workers let a long-poll wait without holding an OS thread, so a thousand
waiting clients do not starve other requests. The metrics directory is wiped
when the arbiter starts and a dead worker's live gauges are dropped; each worker sends a
response's header block with its body (``web/server.py``), lets the worker holding fewer
connections accept a new one first (``web/accepting.py``) and checks a pooled Redis
connection with one ``poll(2)`` (``web/readiness.py``). The API keys the
settings name (``LIFEBOAT_BOOTSTRAP_*_KEY``) are made then too, if missing.
"""

from __future__ import annotations

from core.apikeys.bootstrap import ensure_bootstrap_keys
from core.settings import get_settings
from telemetry.multiprocess import mark_dead, prepare
from web.accepting import Board
from web.accepting import install as install_balanced_accepts
from web.limits import MAX_REQUEST_LINE_BYTES
from web.readiness import install as install_native_readiness_checks
from web.server import install as install_one_send_responses

_settings = get_settings()

bind = f"{_settings.web_host}:{_settings.web_port}"
workers = _settings.web_workers
worker_class = "gevent"
worker_connections = _settings.web_connections
timeout = 60  # a long-poll lasts at most max_wait_seconds (30 s)
graceful_timeout = 35
keepalive = 5
limit_request_line = MAX_REQUEST_LINE_BYTES  # longer is 414, documented on every operation
accesslog = None
errorlog = "-"
loglevel = "info"
proc_name = "lifeboat-web"


def on_starting(server) -> None:
    base = _settings.metrics_dir or _settings.storage_root / "metrics"
    prepare(base / f"web-{_settings.web_port}", wipe=True)
    ensure_bootstrap_keys(_settings)  # before any worker answers a request


# connections each worker holds, mapped before the workers are forked: a new connection
# goes to the worker holding fewest
_board = Board() if workers > 1 else None


def pre_fork(server, worker) -> None:
    if _board is not None:
        taken = {getattr(w, "accept_slot", None) for w in server.WORKERS.values()}
        worker.accept_slot = _board.claim(taken)


def post_fork(_server, worker) -> None:
    install_one_send_responses()  # a response's header block and body in one send
    if _board is not None:
        install_balanced_accepts(_board, worker.accept_slot)


def post_worker_init(_worker) -> None:
    install_native_readiness_checks()  # gevent has patched select by now


def child_exit(server, worker) -> None:
    mark_dead(worker.pid)
    if _board is not None and getattr(worker, "accept_slot", None) is not None:
        _board.release(worker.accept_slot)
