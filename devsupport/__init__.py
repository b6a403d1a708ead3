"""Starting Lifeboat's processes on free ports: shared by ``make run``, the tests and ``bench/``.

Light on purpose (the standard library and redis-py): ``scripts/run.py`` imports
it at startup.
"""

from devsupport.commands import (
    EXPORTER_PYTHON,
    STAND_IN_AUTH_APP,
    WEB_APP,
    WORKER_READY_MARK,
    celery_command,
    exporter_command,
    web_command,
    worker_command,
)
from devsupport.http import KeyedHTTP
from devsupport.ports import LOOPBACK, free_port
from devsupport.private_redis import PrivateRedis, without_password
from devsupport.processes import PY, ROOT, Proc, http_ok, start, wait_until
from devsupport.redis_server import (
    RedisServer,
    redis_answers,
    redis_binary,
    redis_command,
    start_redis,
)
from devsupport.s3_server import S3Server, s3_env, start_s3
from devsupport.stack import (
    UNBINDING_RATE,
    Stack,
    make_stack,
    new_token,
    stack_env,
    wait_for_worker,
)

__all__ = [
    "EXPORTER_PYTHON",
    "LOOPBACK",
    "PY",
    "ROOT",
    "STAND_IN_AUTH_APP",
    "UNBINDING_RATE",
    "WEB_APP",
    "WORKER_READY_MARK",
    "KeyedHTTP",
    "PrivateRedis",
    "Proc",
    "RedisServer",
    "S3Server",
    "Stack",
    "celery_command",
    "exporter_command",
    "free_port",
    "http_ok",
    "make_stack",
    "new_token",
    "redis_answers",
    "redis_binary",
    "redis_command",
    "s3_env",
    "stack_env",
    "start",
    "start_redis",
    "start_s3",
    "wait_for_worker",
    "wait_until",
    "web_command",
    "without_password",
    "worker_command",
]
