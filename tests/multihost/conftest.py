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
    """Redis on ``infra``, a scoring worker on each worker host, the web on ``web``."""
    root = tmp_path_factory.mktemp("hosts")
    shared = root / "shared-storage"  # until the object store: the one disk they share
    c = Cluster(
        network,
        root,
        shared_env={
            "LIFEBOAT_MODELS_DIR": str(models_dir),
            "LIFEBOAT_STORAGE_ROOT": str(shared),
        },
    )
    try:
        c.start_redis()
        for host in WORKER_HOSTS:
            c.start_worker(host)
        c.start_web()
        yield c
    finally:
        c.stop_all()
