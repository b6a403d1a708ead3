"""``python -m bench.task_messages``: the CPU of publishing one ``predict`` message, two ways.

Under gevent, as in a web process, against a private redis-server: Celery's ``send_task``
through kombu's producer (a publish batch: the message and its ``task-sent`` event in
one round trip, as the web published before ``core.task_messages``), beside
:class:`~core.task_messages.TaskMessages` writing the same two commands, sent in one
transaction as ``web.publishing`` sends them; and the commands alone, without Redis.
Rounds alternate the two ways (the machine is shared and noisy); the median round
counts. Prints one JSON object: CPU microseconds per message and their ratio.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402

import redis  # noqa: E402

from bench.subproc import print_on_private_redis  # noqa: E402
from core.queue import PREDICT_TASK, PREDICTIONS_QUEUE, make_celery  # noqa: E402
from core.settings import Settings  # noqa: E402
from core.task_messages import TaskMessages  # noqa: E402
from web import readiness  # noqa: E402

MESSAGES = 1_000  # per round and way
ROUNDS = 7
JOB_IDS = [f"{n:032x}" for n in range(6)]  # a message carries ~6 jobs at 32 clients


def _cpu_us(fn: Callable[[], object]) -> float:
    """CPU microseconds (user + system) of one call of ``fn``, over MESSAGES calls."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(MESSAGES):
        fn()
    after = resource.getrusage(resource.RUSAGE_SELF)
    spent = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return spent / MESSAGES * 1e6


def measure(url: str) -> dict[str, float]:
    readiness.install()  # as the web's gunicorn workers run
    celery = make_celery(Settings(redis_url=url))
    client = redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(url))
    messages = TaskMessages(celery, PREDICT_TASK)

    def celery_send_task() -> None:
        with celery.producer_or_acquire() as producer, producer.batch():
            celery.send_task(PREDICT_TASK, args=[JOB_IDS], producer=producer)

    def copied() -> None:
        with client.pipeline(transaction=True) as pipe:
            for name, key, payload in messages.commands([JOB_IDS]):
                pipe.execute_command(name.upper(), key, payload)
            pipe.execute()

    def commands_only() -> None:
        messages.commands([JOB_IDS])

    ways = {
        "celery_send_task": celery_send_task,
        "task_messages": copied,
        "commands_only": commands_only,
    }
    rounds: dict[str, list[float]] = {name: [] for name in ways}
    for fn in ways.values():
        _cpu_us(fn)  # warm-up
    for _ in range(ROUNDS):
        for name, fn in ways.items():
            rounds[name].append(_cpu_us(fn))
        client.delete(PREDICTIONS_QUEUE)
    figures = {f"{name}_cpu_us": round(statistics.median(r), 1) for name, r in rounds.items()}
    figures["task_messages_over_send_task"] = round(
        figures["task_messages_cpu_us"] / figures["celery_send_task_cpu_us"], 3
    )
    celery.close()
    return figures


def main() -> int:
    return print_on_private_redis(measure, "lifeboat-task-messages-")


if __name__ == "__main__":
    sys.exit(main())
