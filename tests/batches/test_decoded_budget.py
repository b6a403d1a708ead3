"""A batch part's budget of decoded bytes, against a real web and real workers.

Hostile Parquet files are small on the wire and huge once decoded: a highly
compressible column (its footer says how large it decompresses) and a dictionary
value repeated on every row (its footer does not). Either fails its job naming
the part and row group, and the worker goes on scoring.
"""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from devsupport import Stack
from tests.batches.helpers import PARQUET_TYPE, finished, rows, to_csv, upload

pytestmark = pytest.mark.integration

MIB = 1 << 20


def hostile(n_rows: int, note_bytes: int, *, dictionary: bool) -> bytes:
    """Passengers whose ``note`` is the same ``note_bytes`` of text on every row, in one
    row group: zstd-compressed plain pages, or one dictionary value referenced n times."""
    records = rows(n_rows)
    columns = {name: [r[name] for r in records] for name in records[0] if name != "note"}
    columns["age"] = [None if a == "" else a for a in columns["age"]]
    table = pa.table(columns)
    note = pa.DictionaryArray.from_arrays(
        pa.array([0] * n_rows, pa.int32()), pa.array(["x" * note_bytes])
    )
    table = table.append_column("note", note if dictionary else note.cast(pa.string()))
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd", use_dictionary=dictionary)
    return buf.getvalue()


@pytest.fixture
def budget_stack(fresh_stack: Stack) -> Stack:
    fresh_stack.env["LIFEBOAT_BATCH_PART_DECODED_BYTES"] = str(4 * MIB)
    fresh_stack.start_worker(concurrency=1)
    fresh_stack.start_web()
    return fresh_stack


def test_a_row_group_whose_footer_says_it_decompresses_past_the_budget_fails_the_job(
    budget_stack: Stack,
) -> None:
    body = hostile(40, MIB, dictionary=False)  # 40 MiB of text, ten times the budget
    assert len(body) < MIB
    sent = upload(budget_stack, body, content_type=PARQUET_TYPE, id_column="passenger")
    assert sent.status_code == 202, sent.text
    done = finished(budget_stack, sent.json()["id"])
    assert done["status"] == "failed", done
    assert done["error"]["type"] == "OverBudget"
    detail = done["error"]["detail"]
    assert "part 0: row group 0 (uncompressed, per the footer)" in detail
    assert "LIFEBOAT_BATCH_PART_DECODED_BYTES" in detail


def test_a_dictionary_value_repeated_past_the_budget_fails_the_job_and_the_worker_goes_on(
    fresh_stack: Stack,
) -> None:
    fresh_stack.start_worker(concurrency=1)  # the default budget
    fresh_stack.start_web()
    body = hostile(4_000, MIB, dictionary=True)  # ~4 GiB once decoded; its footer says ~1 MiB
    assert len(body) < MIB
    sent = upload(fresh_stack, body, content_type=PARQUET_TYPE, id_column="passenger")
    assert sent.status_code == 202, sent.text
    done = finished(fresh_stack, sent.json()["id"])
    assert done["status"] == "failed", done
    assert done["error"]["type"] == "OverBudget"
    assert "part 0: row group 0 (decoded)" in done["error"]["detail"]
    after = upload(fresh_stack, to_csv(rows(20)), id_column="passenger")
    assert finished(fresh_stack, after.json()["id"])["status"] == "succeeded"
    assert "SIGKILL" not in fresh_stack.procs["worker"].output()
