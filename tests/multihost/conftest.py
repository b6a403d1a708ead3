"""The stand-in hosts of the multi-host tests: made once per module, torn down whatever
happens. Without root (or ``ip``) they are skipped locally and fail in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from devsupport.netns import NetnsUnavailable, Network, unavailable_reason
from tests.multihost.cluster import HOSTS, WORKER_HOSTS, Cluster


@pytest.fixture(scope="module")
def network() -> Iterator[Network]:
    reason = unavailable_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"the multi-host tests need network namespaces: {reason}")
        pytest.skip(reason)
    try:
        with Network(HOSTS) as net:
            yield net
    except NetnsUnavailable as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def cluster(
    network: Network, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Redis and the object store on ``infra`` (the model version published there), a
    scoring worker on each worker host, the web on ``web``."""
    c = Cluster(network, tmp_path_factory.mktemp("hosts"))
    try:
        c.start_redis()
        c.start_s3()
        c.publish(models_dir / "test-v1")
        for host in WORKER_HOSTS:
            c.start_worker(host)
        c.start_web()
        yield c
    finally:
        c.stop_all()
