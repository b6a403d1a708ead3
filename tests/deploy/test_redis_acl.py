"""compose's Redis ACL, for real: a redis-server loads the file the container's script
writes, a web and a worker connect as their own users and do their work, and no user
may run a dangerous command."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
import requests

from devsupport import (
    LOOPBACK,
    Proc,
    Stack,
    free_port,
    redis_binary,
    stack_env,
    start,
    wait_until,
)
from devsupport.stack import METRICS_KEY_ENV
from tests.batches.helpers import finished, result, rows, to_csv, upload
from tests.deploy.redis_acl import (
    OPTIONAL_USERS,
    USERS,
    acl_rules,
    sample_passwords,
    write_acl,
)
from tests.payloads import passengers

START_TIMEOUT = 10.0  # seconds redis-server has to answer
# compose's users and KEDA's (optional: written because its password is set)
PASSWORDS = {**sample_passwords(), "keda": "sample-keda-0123456789abcdef"}
# the Lua script KEDA's Redis scaler evaluates, in effect: the key's type, then its length
QUEUE_LENGTH_SCRIPT = "redis.call('type', KEYS[1]); return redis.call('llen', KEYS[1])"
# (command, arguments) each user must be refused (if one were allowed by mistake, only this
# test's throwaway Redis would suffer). DEBUG is not here: Redis 7 refuses it to everyone
# before looking at the ACL (enable-debug-command); test_compose checks no user has it.
DANGEROUS = [
    ("FLUSHALL",),
    ("FLUSHDB",),
    ("CONFIG", "GET", "maxmemory"),
    ("CONFIG", "SET", "appendonly", "no"),
    ("KEYS", "*"),
    ("ACL", "LIST"),
    ("CLIENT", "KILL", "TYPE", "pubsub"),
    ("SCRIPT", "FLUSH"),
    ("BGREWRITEAOF",),
    ("REPLICAOF", "NO", "ONE"),
    ("SHUTDOWN", "NOSAVE"),
]


def url(port: int, user: str) -> str:
    return f"redis://{user}:{PASSWORDS[user]}@{LOOPBACK}:{port}/0"


@pytest.fixture(scope="module")
def acl_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A redis-server with compose's ACL users (and no other way in); its port."""
    tmp = tmp_path_factory.mktemp("acl-redis")
    acl_file = write_acl(tmp / "users.acl", PASSWORDS)
    port = free_port()
    cmd = [redis_binary(), "--port", str(port), "--bind", LOOPBACK, "--save", ""]
    cmd += ["--appendonly", "no", "--dir", str(tmp), "--aclfile", str(acl_file)]
    try:
        proc: Proc = start("redis", cmd, dict(os.environ), tmp)
        ping = redis.Redis.from_url(url(port, "redis-exporter"))
        wait_until(ping.ping, START_TIMEOUT, "redis with an ACL file", proc)
    except (OSError, TimeoutError, RuntimeError):
        if os.environ.get("CI"):
            raise
        pytest.skip("no redis-server could be started with the ACL file")
    yield port
    proc.stop()


@pytest.fixture(scope="module")
def acl_stack(
    acl_redis: int, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """A web connecting as ``web`` and a worker as ``worker``."""
    storage = tmp_path_factory.mktemp("acl-stack")
    env = stack_env(url(acl_redis, "web"), models_dir, storage)
    stack = Stack(
        env=env,
        base_url=f"http://{LOOPBACK}:{env['LIFEBOAT_WEB_PORT']}",
        redis=redis.Redis.from_url(url(acl_redis, "web")),
        logdir=storage / "logs",
    )
    try:
        stack.start_worker(
            concurrency=1, extra_env={"LIFEBOAT_REDIS_URL": url(acl_redis, "worker")}
        )
        stack.start_web()
        yield stack
    finally:
        stack.stop_all()


def test_the_web_and_the_worker_score_a_prediction_as_their_own_users(acl_stack):
    r = acl_stack.http.post(
        acl_stack.url("/api/v1/predictions"),
        params={"wait": 20},
        json={"instances": passengers(3)},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "succeeded"
    assert len(r.json()["result"]["predictions"]) == 3


def test_the_web_and_the_worker_score_a_batch_as_their_own_users(acl_stack):
    r = upload(acl_stack, to_csv(rows(40)), id_column="passenger")
    assert r.status_code == 202, r.text
    assert finished(acl_stack, r.json()["id"])["status"] == "succeeded"
    assert len(result(acl_stack, r.json()["id"])) == 40


def test_the_web_pings_the_worker_by_remote_control_as_its_own_user(acl_stack):
    r = requests.get(acl_stack.url("/ready"), timeout=20)
    assert r.status_code == 200, r.text


def test_the_web_reads_the_queues_and_the_worker_announces_itself_as_their_own_users(acl_stack):
    # the worker's announcement (ZADD...) and the web's read (LLEN, LINDEX, ZCOUNT) at
    # each scrape: a refused command would leave the gauge at 0 (the web logs and goes on)
    def workers() -> float | None:
        r = requests.get(
            acl_stack.url("/metrics"),
            headers={"Authorization": f"Bearer {acl_stack.env[METRICS_KEY_ENV]}"},
            timeout=10,
        )
        r.raise_for_status()
        found = re.search(r'^lifeboat_queue_workers\{queue="predictions"\} (\S+)$', r.text, re.M)
        return float(found.group(1)) if found else None

    wait_until(lambda: workers() == 1.0, 30, "the worker counted on the predictions queue")


def test_the_processes_are_connected_as_web_and_worker_only(acl_stack, acl_redis):
    # CLIENT LIST is redis_exporter's: it shows who is connected, with which user
    clients = redis.Redis.from_url(url(acl_redis, "redis-exporter")).client_list()
    assert {client["user"] for client in clients} == {"web", "worker", "redis-exporter"}


def test_the_default_user_is_off(acl_redis):
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host=LOOPBACK, port=acl_redis).ping()


def test_keda_reads_a_queues_length_and_nothing_else(acl_redis):
    # a list under a queue's name that no worker consumes (the stack's worker would take
    # messages from "reports" itself)
    queue = "reports-keda-test"
    worker = redis.Redis.from_url(url(acl_redis, "worker"))
    worker.lpush(queue, b"m1", b"m2")
    keda = redis.Redis.from_url(url(acl_redis, "keda"))
    try:
        assert keda.eval(QUEUE_LENGTH_SCRIPT, 1, queue) == 2
        refused = [
            lambda: keda.eval(QUEUE_LENGTH_SCRIPT, 1, "lifeboat:jobs:recent"),
            lambda: keda.hgetall("lifeboat:job:anything"),
            lambda: keda.lpush(queue, b"m3"),
            lambda: keda.rpop(queue),
            lambda: keda.get("unacked_mutex"),
        ]
        for call in refused:
            with pytest.raises(redis.exceptions.NoPermissionError):
                call()
        assert worker.llen(queue) == 2
    finally:
        worker.delete(queue)


@pytest.mark.parametrize("user", [*USERS, *OPTIONAL_USERS])
def test_no_user_may_run_a_dangerous_command(acl_redis, user):
    client = redis.Redis.from_url(url(acl_redis, user))
    allowed = []
    for command in DANGEROUS:
        try:
            client.execute_command(*command)
            allowed.append(command)
        except redis.exceptions.NoPermissionError:
            pass
    assert not allowed, f"{user} may run {allowed}"


def test_the_web_is_refused_flushall_and_config(acl_redis):
    web = redis.Redis.from_url(url(acl_redis, "web"))
    with pytest.raises(redis.exceptions.NoPermissionError, match="flushall"):
        web.flushall()
    with pytest.raises(redis.exceptions.NoPermissionError, match="config"):
        web.config_get("maxmemory")


def test_flower_and_the_exporters_cannot_read_job_records(acl_redis):
    for user in ("flower", "celery-exporter", "redis-exporter"):
        client = redis.Redis.from_url(url(acl_redis, user))
        with pytest.raises(redis.exceptions.NoPermissionError):
            client.hgetall("lifeboat:job:anything")


def test_every_user_of_the_file_is_exercised_here(tmp_path):
    written = set(acl_rules(write_acl(tmp_path / "users.acl", PASSWORDS)))
    assert written == {"default", *USERS, *OPTIONAL_USERS}
