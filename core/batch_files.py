"""Where a batch job's files live; shared by the web (uploads, downloads) and the workers.

Under the storage root: ``uploads/{job_id}.csv`` or ``uploads/{job_id}.parquet``
(the upload, renamed there once its job exists; ``uploads/.incoming-*`` while it
streams in), ``results/{job_id}.parts/`` (one scored file per part while the job
runs), ``results/{job_id}.csv`` (the scored file) and ``results/{job_id}.parquet``
(the same, as Parquet). Standard library only.
"""

from __future__ import annotations

import contextlib
import shutil
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from core.settings import Settings

INCOMING_PREFIX = ".incoming-"  # an upload still streaming in, before its job exists
# a report job's uploaded CSV: named before its job exists, so the sweep cannot ask its job
# (the report worker deletes it); one left behind goes after the grace period
REPORT_UPLOAD_PREFIX = "report-"
INCOMING_GRACE_SECONDS = 3600.0  # an incoming file untouched this long was abandoned
UPLOAD_FORMATS = ("csv", "parquet")  # what an upload can be (a batch job's ``format`` param)


def incoming_path(settings: Settings) -> Path:
    return settings.uploads_dir / f"{INCOMING_PREFIX}{uuid.uuid4().hex}"


def upload_path(settings: Settings, job_id: str, file_format: str = "csv") -> Path:
    """The upload of a job; ``file_format`` is the job's ``format`` param (csv or parquet)."""
    return settings.uploads_dir / f"{job_id}.{file_format}"


def parts_dir(settings: Settings, job_id: str) -> Path:
    return settings.results_dir / f"{job_id}.parts"


def result_path(settings: Settings, job_id: str) -> Path:
    return settings.results_dir / f"{job_id}.csv"


def parquet_result_path(settings: Settings, job_id: str) -> Path:
    return settings.results_dir / f"{job_id}.parquet"


def temporary(path: Path) -> Path:
    """A unique sibling of ``path`` to write before renaming it into place."""
    return path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:12]}")


def remove_partial(settings: Settings, job_id: str) -> None:
    """Remove the upload and the part files of a job (its result, if any, stays)."""
    for file_format in UPLOAD_FORMATS:
        with contextlib.suppress(FileNotFoundError):
            upload_path(settings, job_id, file_format).unlink()
    shutil.rmtree(parts_dir(settings, job_id), ignore_errors=True)


def remove_all(settings: Settings, job_id: str) -> None:
    """Remove every file of a job, its result included."""
    remove_partial(settings, job_id)
    for pattern in (f"{job_id}.csv*", f"{job_id}.parquet*"):  # with their temporary files
        for path in settings.results_dir.glob(pattern):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


def sweep(settings: Settings, job_exists: Callable[[str], bool]) -> int:
    """Delete the files of jobs that no longer exist (expired); returns how many went."""
    removed = 0
    now = time.time()
    for folder in (settings.uploads_dir, settings.results_dir):
        if not folder.is_dir():
            continue
        for path in folder.iterdir():
            if path.name.startswith((INCOMING_PREFIX, REPORT_UPLOAD_PREFIX)):
                stale = now - _mtime(path, now) > INCOMING_GRACE_SECONDS
            else:
                stale = not job_exists(path.name.split(".", 1)[0])
            if stale:
                if path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                removed += 1
    return removed


def _mtime(path: Path, default: float) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return default
