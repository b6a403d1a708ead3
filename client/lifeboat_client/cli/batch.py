"""``lifeboat batch INPUT -o OUTPUT``: upload a file, follow its job, download the result.

INPUT is CSV, or Parquet when its name ends in ``.parquet``; OUTPUT is written
as Parquet when its name ends in ``.parquet``, as CSV otherwise (through
``OUTPUT.part``, renamed when complete). Ctrl-C in any phase exits 130 with one
line: a job still running is cancelled first, a partly downloaded file deleted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from lifeboat_client.cli.app import Interrupted, State, cli, command
from lifeboat_client.cli.inputs import check_readable, check_writable
from lifeboat_client.cli.output import emit_json
from lifeboat_client.cli.progress import Display
from lifeboat_client.client import Client
from lifeboat_client.errors import JobFailed, LifeboatError
from lifeboat_client.files import is_parquet
from lifeboat_client.transport import NO_RETRIES

CANCEL_TIMEOUT_SECONDS = 5.0  # how long Ctrl-C waits for the server to cancel the job


@command(cli, "batch")
@click.argument("input", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="where to write the scores (Parquet if the name ends in .parquet, else CSV)",
)
@click.option("--id-column", help="input column to copy into the output as the row key")
@click.option("--model-version", help="model version (default: the server's default)")
def batch(
    state: State, input: Path, output: Path, id_column: str | None, model_version: str | None
) -> None:
    """Score a CSV or Parquet file with a batch job (a key with the batch and read scopes)."""
    check_readable(input)
    check_writable(output)
    display = Display(sys.stderr)
    with state.client() as lb:
        try:
            job = lb.submit_batch(
                input, id_column=id_column, model_version=model_version, on_progress=display
            )
        except KeyboardInterrupt:
            display.done()
            raise Interrupted("interrupted during the upload") from None
        try:
            job = lb.wait(job.id, on_progress=display)
        except KeyboardInterrupt:
            display.done()
            raise Interrupted(f"interrupted: {_cancel(lb, job.id)}") from None
        finally:
            display.done()
        if not job.succeeded:
            raise JobFailed(job)
        file_format = "parquet" if is_parquet(output) else "csv"
        try:
            lb.result(job.id, to=output, format=file_format, on_progress=display)
        except KeyboardInterrupt:
            url = f"{lb.base_url}/api/v1/jobs/{job.id}/result?format={file_format}"
            raise Interrupted(
                f"interrupted: job {job.id} succeeded but {output} was not written; "
                f"its result stays downloadable at {url}"
            ) from None
        finally:
            display.done()
    result = job.result or {}
    if state.as_json:
        emit_json({**job.raw, "output": str(output)})
    print(
        f"scored {result.get('rows', '?')} row(s), {result.get('failed_rows', 0)} with errors "
        f"(see the 'error' column) -> {output}",
        file=sys.stderr,
    )


def _cancel(lb: Client, job_id: str) -> str:
    """Cancel the job (one try, a short timeout); what became of it, in words."""
    quick = Client(
        lb.base_url, lb.settings.api_key, timeout=CANCEL_TIMEOUT_SECONDS, retry=NO_RETRIES
    )
    try:
        with quick:
            quick.cancel(job_id)
    except LifeboatError as exc:
        return f"job {job_id} may still run: cancelling it failed ({exc})"
    except KeyboardInterrupt:
        return f"job {job_id} may still run: cancelling it was interrupted"
    return f"job {job_id} cancelled"
