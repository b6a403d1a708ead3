"""A batch job's stored files, and sweeping those of expired jobs; web and workers share it.

Files are named by :mod:`core.storage.layout` and kept by the store of the
settings (:func:`core.storage.storage_of`): the local filesystem or an
S3-compatible bucket, the same operations on both.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from core.settings import Settings
from core.storage import Storage, layout, storage_of

INCOMING_GRACE_SECONDS = 3600.0  # an incoming file untouched this long was abandoned
UPLOAD_FORMATS = ("csv", "parquet")  # what an upload can be (a batch job's ``format`` param)
RESULT_FORMATS = ("csv", "parquet")  # what a scored file can be downloaded as


def remove_partial(settings: Settings, job_id: str) -> None:
    """Remove the upload and the part files of a job (its result, if any, stays)."""
    store = storage_of(settings)
    for file_format in UPLOAD_FORMATS:
        store.delete(layout.upload(job_id, file_format))
    store.delete_prefix(layout.parts(job_id))


def remove_all(settings: Settings, job_id: str) -> None:
    """Remove every file of a job, its result included."""
    remove_partial(settings, job_id)
    store = storage_of(settings)
    for file_format in RESULT_FORMATS:  # a temporary file a killed writer left: the sweep's
        store.delete(layout.result(job_id, file_format))


def sweep(
    settings: Settings,
    job_exists: Callable[[str], bool],
    grace: float = INCOMING_GRACE_SECONDS,
) -> int:
    """Delete the files of jobs that no longer exist (expired), and uploads untouched for
    ``grace`` seconds that no job owns yet; returns how many went (a job's parts: one)."""
    store = storage_of(settings)
    now = time.time()
    removed: set[str] = set()
    alive: dict[str, bool] = {}
    for folder in (layout.UPLOADS, layout.RESULTS):
        for entry in list(store.list(folder)):
            name = entry.key[len(folder) :].split("/", 1)[0]
            if name.startswith((layout.INCOMING_PREFIX, layout.REPORT_UPLOAD_PREFIX)):
                stale = now - entry.modified > grace
            else:
                job_id = name.split(".", 1)[0]
                if job_id not in alive:
                    alive[job_id] = job_exists(job_id)
                stale = not alive[job_id]
            if stale:
                _delete(store, folder + name, entry.key)
                removed.add(folder + name)
    return len(removed)


def _delete(store: Storage, name: str, key: str) -> None:
    if key == name:
        store.delete(key)
    else:  # a file inside a job's folder of parts: the folder goes
        store.delete_prefix(name + "/")
