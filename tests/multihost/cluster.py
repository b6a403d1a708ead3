"""Lifeboat on stand-in hosts: Redis (and the object store) on ``infra``, two scoring-worker
hosts, the web on a host of its own; every host in its own network namespace.

Each host runs its processes from an empty working directory of its own, with
its own storage root; every address a process binds or connects to is a host's
address on the private network (or its name, from the hosts' ``/etc/hosts``),
never loopback.
"""

from __future__ import annotations

import os
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import redis

from devsupport import (
    PY,
    ROOT,
    KeyedHTTP,
    Proc,
    http_ok,
    new_token,
    redis_command,
    start,
    wait_for_worker,
    wait_until,
    web_command,
    worker_command,
)
from devsupport.netns import Host, Network
from devsupport.s3_server import ACCESS_KEY, REGION, SECRET_KEY, s3_env

INFRA, WEB = "infra", "web"
WORKER_HOSTS = ("worker-a", "worker-b")
HOSTS = (INFRA, *WORKER_HOSTS, WEB)
REDIS_PORT = 6379  # each host has its own ports: the defaults never collide
S3_PORT = 5000
BUCKET = "lifeboat"
WEB_PORT = 8000
WORKER_METRICS_PORT = 9101
WORKER_CONCURRENCY = 1  # pool processes per worker host (two hosts share 2 busy cores)
START_TIMEOUT = 90.0  # seconds a process has to answer
SCORING_QUEUES = "predictions,batches"


def worker_node(host: str) -> str:
    """The Celery node name of the scoring worker on ``host`` (``scoring@%h``)."""
    return f"scoring@{host}"


@dataclass
class Cluster:
    """The stand-in hosts, the processes started on them and how the driver reaches them."""

    net: Network
    root: Path  # one folder per host below it
    admin_key: str = field(default_factory=new_token)
    procs: list[Proc] = field(default_factory=list)

    def host(self, name: str) -> Host:
        return self.net.hosts[name]

    def workdir(self, host: str) -> Path:
        """The host's own, initially empty, working directory."""
        path = self.root / host / "work"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def logdir(self, host: str) -> Path:
        return self.root / host / "logs"

    @property
    def redis_url(self) -> str:
        """Redis by the infra host's name, as the other hosts see it."""
        return f"redis://{INFRA}:{REDIS_PORT}/0"

    def redis(self) -> redis.Redis:
        """The driver's connection to Redis (by address: the machine has no /etc/hosts entry)."""
        return redis.Redis(host=self.host(INFRA).address, port=REDIS_PORT)

    @property
    def base_url(self) -> str:
        return f"http://{self.host(WEB).address}:{WEB_PORT}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @property
    def http(self) -> KeyedHTTP:
        return KeyedHTTP(self.admin_key)

    def env(self, host: str, **extra: str) -> dict[str, str]:
        """The environment of a Lifeboat process on ``host``: Redis and the object store on
        ``infra`` by name, the code from the checkout. Every other setting is its default:
        the models folder, the storage root and the model cache are relative to the host's
        empty working directory, so nothing of another host's disk is in reach."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LIFEBOAT_", "AWS_"))}
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "LIFEBOAT_REDIS_URL": self.redis_url,
                **self.s3_env(),
                **extra,
            }
        )
        return env

    def publish(self, version_folder: Path) -> None:
        """Register a model version in the object store, from the machine (as an operator
        would from theirs), as the default: the hosts have none of their own."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LIFEBOAT_", "AWS_"))}
        env.update(self.s3_env(self.host(INFRA).address))
        cmd = [PY, "-m", "core.model_store", "register", str(version_folder), "--default"]
        got = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
        assert got.returncode == 0, got.stdout + got.stderr

    def stored(self, prefix: str = "") -> list[str]:
        """Keys of the objects under the cluster's prefix in the bucket, read by the machine."""
        import boto3  # a test tool: loaded only where objects are counted

        client = boto3.client(
            "s3",
            endpoint_url=f"http://{self.host(INFRA).address}:{S3_PORT}",
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
        full = f"{self.root.name}/{prefix}"
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=full)
        return [o["Key"][len(self.root.name) + 1 :] for p in pages for o in p.get("Contents", [])]

    def files(self, host: str) -> list[Path]:
        """Every file below the host's working directory."""
        return [p for p in self.workdir(host).rglob("*") if p.is_file()]

    def run(self, host: str, name: str, cmd: list[str], env: dict[str, str]) -> Proc:
        proc = start(name, self.host(host).wrap(cmd), env, self.logdir(host), self.workdir(host))
        self.procs.append(proc)
        return proc

    def start_redis(self) -> Proc:
        infra = self.host(INFRA)
        data = self.root / INFRA / "redis"
        data.mkdir(parents=True, exist_ok=True)
        proc = self.run(
            INFRA, "redis", redis_command(REDIS_PORT, data, infra.address), dict(os.environ)
        )
        wait_until(lambda: self.redis().ping(), START_TIMEOUT, "redis on infra", proc)
        return proc

    def start_s3(self) -> Proc:
        """moto's S3 server on ``infra`` (its own address), with the bucket made."""
        infra = self.host(INFRA)
        cmd = [PY, "-m", "moto.server", "--host", infra.address, "--port", str(S3_PORT)]
        proc = self.run(INFRA, "s3", cmd, dict(os.environ))
        endpoint = f"http://{infra.address}:{S3_PORT}"
        wait_until(lambda: http_ok(f"{endpoint}/moto-api/data.json"), START_TIMEOUT, "S3", proc)
        create = urllib.request.Request(f"{endpoint}/{BUCKET}", method="PUT")
        urllib.request.urlopen(create, timeout=10).close()
        return proc

    def s3_env(self, endpoint_host: str = INFRA) -> dict[str, str]:
        """Where a process keeps stored files and finds model versions: the bucket on
        ``infra`` (by name from the hosts; the driver passes the address)."""
        return s3_env(f"http://{endpoint_host}:{S3_PORT}", f"s3://{BUCKET}/{self.root.name}")

    def start_worker(self, host: str) -> Proc:
        address = self.host(host).address
        env = self.env(
            host,
            LIFEBOAT_WORKER_METRICS_HOST=address,
            LIFEBOAT_WORKER_METRICS_PORT=str(WORKER_METRICS_PORT),
        )
        cmd = worker_command(SCORING_QUEUES, WORKER_CONCURRENCY, "scoring@%h")
        proc = self.run(host, "worker", cmd, env)
        metrics = f"http://{address}:{WORKER_METRICS_PORT}/metrics"
        wait_for_worker(proc, metrics, WORKER_CONCURRENCY, START_TIMEOUT)
        return proc

    def start_web(self) -> Proc:
        env = self.env(
            WEB,
            LIFEBOAT_WEB_HOST=self.host(WEB).address,
            LIFEBOAT_WEB_PORT=str(WEB_PORT),
            LIFEBOAT_WEB_WORKERS="2",
            LIFEBOAT_BOOTSTRAP_ADMIN_KEY=self.admin_key,
            LIFEBOAT_RATE_LIMIT_ENABLED="false",
        )
        proc = self.run(WEB, "web", web_command(), env)
        wait_until(lambda: http_ok(self.url("/health")), START_TIMEOUT, "web", proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        self.procs.clear()
