"""Worker lifecycle: metrics endpoint in the main process, thread limits in every child.

A pool child stays lean: it loads model versions from their lean artifacts
(numpy only) and never imports scikit-learn, scipy or pandas for scoring; only
a model version without a lean artifact, or a report, brings them in. Warm-up
logs which of them the child holds.
"""

from __future__ import annotations

import logging
import os
import time

from celery import signals
from prometheus_client import start_http_server
from threadpoolctl import threadpool_info, threadpool_limits

from core.queue import REPORTS_QUEUE
from ml.lean.process import heavy_modules
from telemetry import metrics
from telemetry.multiprocess import mark_dead, registry
from workers import beat
from workers.celery_app import app, settings
from workers.runtime import Runtime, runtime, set_node

log = logging.getLogger("lifeboat.worker")


@signals.worker_init.connect
def start_metrics_server(**_: object) -> None:
    """Serve every pool child's metrics, aggregated, from the worker's main process."""
    port = settings.worker_metrics_port
    if not port:
        return
    start_http_server(port, addr=settings.worker_metrics_host, registry=registry())
    log.info("worker metrics on %s:%d/metrics", settings.worker_metrics_host, port)


@signals.celeryd_after_setup.connect
def name_node(sender: str, **_: object) -> None:
    """Every record this worker claims names it (``scoring@host``): which host ran it."""
    set_node(sender)


@signals.worker_init.connect
def start_beat_clocks(**_: object) -> None:
    """From now on, a beat task of a queue this worker consumes is late after three intervals."""
    beat.expect(settings, _consumed_queues())


@signals.worker_process_init.connect
def pin_threads(**_: object) -> None:
    """Limit BLAS threads in this pool child and say what the limits are.

    numpy's BLAS is loaded and limited here. scikit-learn's OpenMP runtime is not
    loaded (the child may never need it); if it is later, it reads
    ``OMP_NUM_THREADS``, which :mod:`workers.celery_app` sets for the whole worker.
    """
    import numpy  # noqa: F401 — loads the BLAS library the limit applies to

    threadpool_limits(limits=settings.worker_threads)
    pools = {f"{p['user_api']}:{p['internal_api']}": p["num_threads"] for p in threadpool_info()}
    metrics.WORKER_THREAD_LIMIT.set(settings.worker_threads)
    log.info(
        "worker process %d thread limits: %s",
        os.getpid(),
        " ".join(f"{k}={v}" for k, v in sorted(pools.items())) or "none loaded",
    )


@signals.worker_process_init.connect
def warm_up(**_: object) -> None:
    """Load the default model version now, so the first job does not pay for it."""
    rt = runtime()
    try:
        version = rt.registry.default_version()
        model = rt.model(version)
        log.info(
            "worker process %d ready: model version %s loaded (%s; heavy modules: %s)",
            os.getpid(),
            version,
            "lean" if model.lean is not None else "scikit-learn pipeline",
            ", ".join(heavy_modules()) or "none",
        )
    except Exception as exc:  # noqa: BLE001 — jobs will report the problem; the worker stays up
        log.warning("could not load the default model version: %s", exc)
        return
    if _reports_only():
        _warm_up_reports(rt, version)


def _consumed_queues() -> list[str]:
    """The queues this worker consumes (every declared one without ``-Q``)."""
    return list(app.amqp.queues.consume_from or app.amqp.queues)


def _reports_only() -> bool:
    """Whether this worker consumes the reports queue alone (``-Q reports``)."""
    return set(app.amqp.queues.consume_from or ()) == {REPORTS_QUEUE}


def _warm_up_reports(rt: Runtime, version: str) -> None:
    """A reports worker's child imports Evidently and scipy.stats (~4 s), reads the
    reference data and catches the monitoring window up now, so that neither the first
    report nor the first drift check waits (nor reads the whole log window)."""
    # the monitoring package brings pandas: imported in a reports-only worker alone
    from workers.monitoring import data as monitoring_data
    from workers.monitoring import window as monitoring_window

    started = time.perf_counter()
    import evidently.presets  # noqa: F401
    import scipy.stats  # noqa: F401

    monitoring_data.reference_frame(rt, version)
    try:  # catch the monitoring window up (rebuilt from the log if it is missing)
        rows = len(monitoring_window.current(rt).columns)
    except Exception as exc:  # noqa: BLE001 — the first check will try again
        log.warning("could not catch the monitoring window up: %s", exc)
        rows = 0
    log.info(
        "worker process %d ready for reports: Evidently, scipy.stats, the reference data "
        "of %s and the monitoring window (%d rows) loaded in %.1f s",
        os.getpid(),
        version,
        rows,
        time.perf_counter() - started,
    )


@signals.worker_process_shutdown.connect
def forget_live_gauges(pid: int | None = None, **_: object) -> None:
    mark_dead(pid or os.getpid())
