"""The one Celery app configuration, shared by the producer (web) and the consumer (workers).

The web only publishes by task name (``send_task``), so it never imports the
worker code, scikit-learn or Evidently.
"""

from __future__ import annotations

from celery import Celery, signals
from kombu import Exchange, Queue

from core import backlog
from core.settings import Settings

PREDICT_TASK = "lifeboat.predict"
SCORE_BATCH_TASK = "lifeboat.score_batch"
SCORE_BATCH_PART_TASK = "lifeboat.score_batch_part"
SWEEP_BATCH_FILES_TASK = "lifeboat.sweep_batch_files"
BUILD_REPORT_TASK = "lifeboat.build_report"
REQUEUE_STALE_TASK = "lifeboat.requeue_stale"
CHECK_DRIFT_TASK = "lifeboat.check_drift"  # scheduled: drift, estimated and measured accuracy
UPDATE_ACCURACY_TASK = "lifeboat.update_accuracy"  # after feedback: the accuracy gauges
DELIVER_WEBHOOK_TASK = "lifeboat.deliver_webhook"  # a finished job to its callback URL
SHADOW_PREDICT_TASK = "lifeboat.shadow_predict"  # a shadow version scores finished jobs again
CHECK_GUARD_TASK = "lifeboat.check_guard"  # scheduled: end a canary failing past its guard

PREDICTIONS_QUEUE = "predictions"
BATCHES_QUEUE = "batches"
REPORTS_QUEUE = "reports"
# deliveries wait on other hosts: their own queue and worker, never in scoring's way
WEBHOOKS_QUEUE = "webhooks"
# shadow scoring is off the response path: its own queue, consumed by the reports worker,
# so it never takes a pool process a primary job is waiting for
SHADOW_QUEUE = "shadow"
QUEUES = (PREDICTIONS_QUEUE, BATCHES_QUEUE, REPORTS_QUEUE, WEBHOOKS_QUEUE, SHADOW_QUEUE)

ROUTES = {
    PREDICT_TASK: PREDICTIONS_QUEUE,
    SCORE_BATCH_TASK: BATCHES_QUEUE,
    SCORE_BATCH_PART_TASK: BATCHES_QUEUE,
    SWEEP_BATCH_FILES_TASK: BATCHES_QUEUE,
    BUILD_REPORT_TASK: REPORTS_QUEUE,
    REQUEUE_STALE_TASK: PREDICTIONS_QUEUE,
    CHECK_DRIFT_TASK: REPORTS_QUEUE,
    UPDATE_ACCURACY_TASK: REPORTS_QUEUE,
    DELIVER_WEBHOOK_TASK: WEBHOOKS_QUEUE,
    SHADOW_PREDICT_TASK: SHADOW_QUEUE,
    CHECK_GUARD_TASK: REPORTS_QUEUE,
}


def make_celery(settings: Settings) -> Celery:
    """A Celery app for Lifeboat's broker: JSON only, at-least-once, events on."""
    # no result backend: results live in the job store. With one, every send_task (tasks
    # are published by name, so task_ignore_result does not apply) subscribed the
    # publisher to the task's result channel and queued an unsubscribe nobody read: two
    # Redis commands per task and ~300 bytes a job kept for good in every web process
    app = Celery("lifeboat", broker=settings.redis_url)
    # every message carries its publish time: the age of a queue's oldest message
    signals.before_task_publish.connect(backlog.stamp, weak=False, dispatch_uid="lifeboat.stamp")
    kinds = {
        PREDICT_TASK: "prediction",
        SCORE_BATCH_TASK: "batch",
        SCORE_BATCH_PART_TASK: "batch",
        BUILD_REPORT_TASK: "report",
        SWEEP_BATCH_FILES_TASK: "maintenance",
        REQUEUE_STALE_TASK: "maintenance",
        CHECK_DRIFT_TASK: "maintenance",
        UPDATE_ACCURACY_TASK: "maintenance",
        DELIVER_WEBHOOK_TASK: "maintenance",
        SHADOW_PREDICT_TASK: "prediction",
        CHECK_GUARD_TASK: "maintenance",
    }
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # at-least-once: a message is acked only after its task returns, and a task
        # whose worker process died is put back on its queue
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_queues=[Queue(name, Exchange(name), routing_key=name) for name in QUEUES],
        task_default_queue=PREDICTIONS_QUEUE,
        # a route names its queue only: Celery then publishes to the default exchange with
        # the queue's name as routing key, and kombu's Redis transport pushes to the queue
        # at once; naming the exchange made every publish read the exchange's bindings
        # first (one SMEMBERS round trip per message, on the web's submit path)
        task_routes={name: {"queue": queue} for name, queue in ROUTES.items()},
        # every task: a soft limit (SoftTimeLimitExceeded inside the task, which ends its
        # jobs cleanly) below a hard one (the pool process is killed)
        task_annotations={
            name: {
                "time_limit": getattr(settings, f"{kind}_time_limit"),
                "soft_time_limit": settings.soft_time_limit(kind),
            }
            for name, kind in kinds.items()
        },
        # results live in the job store; Celery's own are not kept
        task_ignore_result=True,
        # task events for Flower and celery-exporter
        worker_send_task_events=True,
        task_send_sent_event=True,
        # a worker outlives a Redis restart: it reconnects for as long as it takes
        broker_connection_retry_on_startup=True,
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        # … and a Redis that refuses commands for a while (full, read-only) counts as down
        broker_transport="core.broker:Transport",
        broker_transport_options={"visibility_timeout": settings.broker_visibility_timeout},
        # a publisher must fail fast when Redis is down (the API answers 503)
        task_publish_retry=False,
        broker_connection_timeout=2,
        redis_socket_connect_timeout=2,
        redis_socket_timeout=5,
        # a pool child loads the model before taking work
        worker_proc_alive_timeout=60,
        # safety net: a pool child that grew past this (e.g. it loaded scikit-learn) is
        # replaced after its task; Celery counts KiB, None is off
        worker_max_memory_per_child=settings.worker_max_memory_mb * 1024 or None,
        # pool processes; None is Celery's own default, one per CPU core
        worker_concurrency=settings.worker_concurrency or None,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        timezone="UTC",
    )
    return app
