"""The keys of every stored file: one owner for their names.

``uploads/<job id>.csv`` or ``.parquet`` (a batch upload, renamed there once its
job exists; ``uploads/.incoming-<random>`` while it streams in),
``uploads/report-<random>.csv`` (a report job's upload), ``results/<job id>.parts/``
(one scored file and its summary per part while the job runs),
``results/<job id>.csv`` and ``.parquet`` (the scored file), ``reports/<job id>.html``,
``models/<version>/<file>`` and ``models/DEFAULT`` (model versions: ``core.model_store``).
"""

from __future__ import annotations

import uuid

UPLOADS = "uploads/"
RESULTS = "results/"
REPORTS = "reports/"
MODELS = "models/"  # model versions, published by ``python -m core.model_store register``
INCOMING_PREFIX = ".incoming-"  # an upload still streaming in, before its job exists
# a report job's uploaded CSV: named before its job exists, so the sweep cannot ask its job
# (the report worker deletes it); one left behind goes after the grace period
REPORT_UPLOAD_PREFIX = "report-"


def incoming() -> str:
    return f"{UPLOADS}{INCOMING_PREFIX}{uuid.uuid4().hex}"


def report_upload() -> str:
    return f"{UPLOADS}{REPORT_UPLOAD_PREFIX}{uuid.uuid4()}.csv"


def upload(job_id: str, file_format: str = "csv") -> str:
    """The upload of a batch job; ``file_format`` is the job's ``format`` param."""
    return f"{UPLOADS}{job_id}.{file_format}"


def parts(job_id: str) -> str:
    """The prefix of a batch job's part files (ends with "/")."""
    return f"{RESULTS}{job_id}.parts/"


def part(job_id: str, index: int) -> str:
    return f"{parts(job_id)}part-{index:05d}.csv"


def part_summary(job_id: str, index: int) -> str:
    return f"{parts(job_id)}part-{index:05d}.json"


def result(job_id: str, file_format: str = "csv") -> str:
    """A batch job's scored file (csv or parquet)."""
    return f"{RESULTS}{job_id}.{file_format}"


def report(job_id: str) -> str:
    return f"{REPORTS}{job_id}.html"


def is_report_upload(key: str) -> bool:
    return key.startswith(f"{UPLOADS}{REPORT_UPLOAD_PREFIX}") and "/" not in key[len(UPLOADS) :]
