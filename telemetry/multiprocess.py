"""prometheus_client multiprocess mode for gunicorn workers and Celery prefork children.

Each process writes its samples to files in one directory; the main process (or
any process serving ``/metrics``) aggregates them. The directory is wiped when
the main process starts (files of earlier runs would be summed in) and live
gauges of a child are removed when it exits.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare(directory: Path, *, wipe: bool) -> Path:
    """Point this process (and the children it forks) at ``directory``; wipe it if asked."""
    directory = directory.resolve()
    if wipe and directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(directory)
    values = sys.modules.get("prometheus_client.values")
    if values is not None:
        # imported already (Celery's CLI loads Flower's plugin, which imports prometheus_client):
        # metrics created from now on must still use the multiprocess value store
        values.ValueClass = values.get_value_class()
    return directory


def mark_dead(pid: int) -> None:
    """Forget the live gauges of an exited child (counters and histograms stay summed)."""
    if os.environ.get(ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def registry():  # -> CollectorRegistry
    """A registry aggregating every process's samples in the multiprocess directory."""
    from prometheus_client import CollectorRegistry, multiprocess

    reg = CollectorRegistry()
    if os.environ.get(ENV):
        multiprocess.MultiProcessCollector(reg)
    else:  # single process (e.g. a unit test): the default registry holds everything
        from prometheus_client import REGISTRY

        return REGISTRY
    return reg


def exposition() -> tuple[bytes, str]:
    """Body and content type of a ``/metrics`` response."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return generate_latest(registry()), CONTENT_TYPE_LATEST
