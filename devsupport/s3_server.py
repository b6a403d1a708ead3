"""A private S3-compatible server (moto's standalone server) on a free port, for tests.

It runs as a real process speaking S3 over HTTP; :func:`s3_env` gives the
environment a Lifeboat process needs to use a bucket on it
(``LIFEBOAT_STORAGE_URL`` and the usual ``AWS_*`` variables).
"""

from __future__ import annotations

import os
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

from devsupport.ports import LOOPBACK, free_port
from devsupport.processes import PY, Proc, start, wait_until

START_TIMEOUT = 30.0  # seconds a fresh moto server has to answer
REGION = "us-east-1"
# moto accepts any credentials; these only have to be present for requests to be signed
ACCESS_KEY = "lifeboat-test"
SECRET_KEY = "lifeboat-test-secret"


@dataclass
class S3Server:
    """A running moto server and the bucket made on it."""

    port: int
    proc: Proc
    bucket: str

    @property
    def endpoint(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def env(self, prefix: str | None = None) -> dict[str, str]:
        """Variables pointing a process at the bucket, under ``prefix`` (a fresh one if None)."""
        return s3_env(self.endpoint, f"s3://{self.bucket}/{prefix or uuid.uuid4().hex}")

    def objects(self, prefix: str = "") -> list[str]:
        """Every key in the bucket (under ``prefix``), straight from the server (boto3)."""
        import boto3  # a test tool: only the tests that count objects load it

        client = boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
        keys: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            keys.extend(o["Key"] for o in page.get("Contents", []))
        return keys


def s3_env(endpoint: str, url: str) -> dict[str, str]:
    return {
        "LIFEBOAT_STORAGE_URL": url,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    }


def _answers(endpoint: str) -> bool:
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1.0) as resp:
        return resp.status == 200


def start_s3(logdir: Path, bucket: str = "lifeboat") -> S3Server:
    """Start moto's S3 server on a free loopback port, wait for it, and create ``bucket``."""
    port = free_port()
    cmd = [PY, "-m", "moto.server", "--host", LOOPBACK, "--port", str(port)]
    proc = start("s3", cmd, dict(os.environ), logdir)
    server = S3Server(port, proc, bucket)
    try:
        wait_until(lambda: _answers(server.endpoint), START_TIMEOUT, "the S3 server", proc)
        request = urllib.request.Request(f"{server.endpoint}/{bucket}", method="PUT")
        urllib.request.urlopen(request, timeout=5.0).close()
    except BaseException:
        proc.stop()
        raise
    return server
