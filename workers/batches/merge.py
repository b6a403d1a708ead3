"""Merging a batch job's parts, in input order, into its result, and finishing it once.

The part that completes the set merges (the store's ``concat``: a kernel copy
into a temporary file renamed into place, or a multipart upload; then the
Parquet copy) and finishes the job; the job store lets it finish only once, so a
redelivered last part or a cancel meanwhile leaves one result or none.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from core import batch_files as files
from core import prediction_log
from core.jobs import JobStatus, Outcome
from core.storage import layout, storage_of
from ml.batch.formulas import neutralise_text
from workers import lifecycle
from workers.batches import formats as batch_formats
from workers.batches.ending import drop_files_unless_succeeded, fail
from workers.batches.scoring import scorer_for
from workers.batches.state import BatchState, Plan
from workers.runtime import Runtime


def merge(rt: Runtime, job_id: str, plan: Plan) -> None:
    """Concatenate the parts in input order into the result and finish the job."""
    s = rt.settings
    store = storage_of(s)
    job = rt.store.get_many([job_id])[0]
    if job is None or job.status is not JobStatus.RUNNING:
        return
    try:
        scorer = scorer_for(rt, job)
        metas = [
            json.loads(store.read_bytes(layout.part_summary(job_id, i)))
            for i in range(len(plan.parts))
        ]
    except FileNotFoundError:  # cancelled meanwhile: its files are gone
        drop_files_unless_succeeded(rt, job_id)
        return
    rows = sum(m["rows"] for m in metas)
    failed = sum(m["failed"] for m in metas)
    examples = [e for m in metas for e in m["examples"]][:5]
    if failed == rows:
        fail(rt, job, _all_bad(rows, examples))
        return
    result = layout.result(job_id)
    header = io.StringIO()
    names = [neutralise_text(c) for c in scorer.columns]  # input names are data too
    csv.writer(header, lineterminator="\n").writerow(names)
    parts = [layout.part(job_id, i) for i in range(len(plan.parts))]
    try:
        store.concat(result, header.getvalue().encode(), parts)
        result_bytes = store.size(result)
        parquet_bytes = batch_formats.write_parquet_result(s, job_id, scorer.schema)
    except FileNotFoundError:
        drop_files_unless_succeeded(rt, job_id)
        return
    BatchState(rt, job_id).progress(None, 0, rows)
    outcome = Outcome(
        job_id,
        JobStatus.SUCCEEDED,
        # the sampled rows reach the prediction log with the finish: once, whatever retried;
        # their prediction ids are ``<job id>-<row>``
        log_records=prediction_log.records_of_rows(
            job_id,
            scorer.model.version,
            [row for m in metas for row in m.get("sample", [])],
            source=prediction_log.SOURCE_BATCH,
            tenant=job.tenant or "",
        ),
        # what the tenant's storage quota holds of the job once its upload is removed
        stored_bytes=result_bytes + parquet_bytes,
        result={
            "rows": rows,
            "failed_rows": failed,
            "columns": scorer.columns,
            "bytes": result_bytes,
            "parquet_bytes": parquet_bytes,
            "errors": [{"row": k, "msg": e} for k, e in examples],
            "links": {
                "result": f"/api/v1/jobs/{job_id}/result",
                "result_parquet": f"/api/v1/jobs/{job_id}/result?format=parquet",
            },
        },
    )
    if lifecycle.finish(rt, job, outcome):
        files.remove_partial(s, job_id)
        BatchState(rt, job_id).forget()
    else:  # cancelled while merging, or merged twice (a redelivered last part)
        drop_files_unless_succeeded(rt, job_id)


def _all_bad(rows: int, examples: list[Any]) -> dict[str, Any]:
    detail = f"every row of the file failed validation ({rows} row(s))"
    if examples:
        key, msg = examples[0]
        detail += f"; e.g. {key}: {msg}"
    return {
        "type": "NoValidRows",
        "detail": detail,
        "errors": [{"row": k, "msg": e} for k, e in examples],
    }
