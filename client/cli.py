"""``python -m client batch INPUT -o OUTPUT``: upload a file, follow the job, download the result.

INPUT is CSV, or Parquet when its name ends in ``.parquet``; OUTPUT is written
as Parquet when its name ends in ``.parquet``, as CSV otherwise. Every request
carries the API key given with ``--api-key`` or ``LIFEBOAT_API_KEY`` (scopes
``batch`` and ``read``).

Progress goes to stderr (a bar on a terminal, a line now and then otherwise);
the exit status is 0 when the scored file was written, 1 when the server
refused the file or the job failed (its message is printed), 2 when INPUT
cannot be read or OUTPUT's folder does not exist (nothing is sent), 130 on
Ctrl-C, whatever the phase: a job still running is cancelled first, and a
partly downloaded file is deleted.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import IO, Any

import requests

DEFAULT_URL = "http://127.0.0.1:8000"
PARQUET_SUFFIX = ".parquet"
PARQUET_TYPE = "application/vnd.apache.parquet"
POLL_WAIT_SECONDS = 2.0  # long-poll of each job read; progress refreshes at least this often
DOWNLOAD_BYTES = 1 << 20
CANCEL_TIMEOUT_SECONDS = 5.0  # how long Ctrl-C waits for the server to cancel the job
BAR_WIDTH = 30
TTY_REFRESH_SECONDS = 0.1  # a terminal's bar is redrawn at most this often


EXIT_FAILED = 1  # the server refused the file, the job failed, or the server was unreachable
EXIT_USAGE = 2  # the command line names a file that cannot be read or written (as argparse)
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as a shell reports it)


class ClientError(Exception):
    """Something the user must be told; the message is the server's when it gave one."""


class UsageError(ClientError):
    """The command line names a file that cannot be used; nothing was sent."""


class Interrupted(Exception):
    """Ctrl-C, with what became of the job."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    progress = Progress(sys.stderr)
    try:
        return batch(args, progress)
    except UsageError as exc:
        return _fail(progress, f"error: {exc}", EXIT_USAGE)
    except ClientError as exc:
        return _fail(progress, f"error: {exc}", EXIT_FAILED)
    except requests.RequestException as exc:
        return _fail(progress, f"error: cannot talk to {args.url}: {exc}", EXIT_FAILED)
    except Interrupted as exc:
        return _fail(progress, f"interrupted: {exc}", EXIT_INTERRUPTED)
    except KeyboardInterrupt:
        return _fail(progress, "interrupted during the upload", EXIT_INTERRUPTED)


def _fail(progress: Progress, message: str, status: int) -> int:
    progress.done()
    print(message, file=sys.stderr)
    return status


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m client", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("batch", help="score a CSV or Parquet file with a batch job")
    b.add_argument("input", type=Path, help="CSV file with a header line, or a .parquet file")
    b.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        help="where to write the scores (Parquet if the name ends in .parquet, else CSV)",
    )
    b.add_argument("--url", default=os.environ.get("LIFEBOAT_URL", DEFAULT_URL))
    b.add_argument(
        "--api-key",
        default=os.environ.get("LIFEBOAT_API_KEY"),
        help="API key with the batch and read scopes (default: $LIFEBOAT_API_KEY)",
    )
    b.add_argument("--id-column", help="input column to copy into the output as the row key")
    b.add_argument("--model-version", help="model version (default: the server's default)")
    return p


def batch(args: argparse.Namespace, progress: Progress) -> int:
    base = args.url.rstrip("/")
    _check_output(args.output)
    with _open_input(args.input) as f, requests.Session() as http:
        if args.api_key:
            http.headers["Authorization"] = f"Bearer {args.api_key}"
        job = _upload(http, base, args, f, progress)
        try:
            job = _follow(http, base, job, progress)
        except KeyboardInterrupt:
            progress.done()
            raise Interrupted(_cancel(http, base, job["id"])) from None
        if job["status"] != "succeeded":
            error = job.get("error") or {}
            raise ClientError(f"job {job['id']} {job['status']}: {error.get('detail', '')}")
        result_url = f"{base}/api/v1/jobs/{job['id']}/result?format={_format(args.output)}"
        try:
            _download(http, result_url, args.output, progress)
        except KeyboardInterrupt:
            raise Interrupted(
                f"job {job['id']} succeeded but {args.output} was not written; "
                f"its result stays downloadable at {result_url}"
            ) from None
    result = job.get("result") or {}
    print(
        f"scored {result.get('rows', '?')} row(s), {result.get('failed_rows', 0)} with errors "
        f"(see the 'error' column) -> {args.output}",
        file=sys.stderr,
    )
    return 0


def _open_input(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


def _check_output(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: {folder} is not a folder")
    if path.is_dir():
        raise UsageError(f"cannot write {path}: it is a folder")


def _upload(
    http: requests.Session,
    base: str,
    args: argparse.Namespace,
    f: IO[bytes],
    progress: Progress,
) -> dict[str, Any]:
    size = os.fstat(f.fileno()).st_size
    params = {
        k: v for k, v in (("id_column", args.id_column), ("model_version", args.model_version)) if v
    }
    progress.show("uploading", 0, size, "bytes")
    body = _Reading(f, lambda n: progress.show("uploading", n, size, "bytes"))
    resp = http.post(
        f"{base}/api/v1/batches",
        data=body,
        params=params,
        headers={"Content-Type": _content_type(args.input), "Content-Length": str(size)},
        timeout=(10, None),
    )
    return _json(resp)


def _cancel(http: requests.Session, base: str, job_id: str) -> str:
    """Cancel the job; what became of it, in words."""
    try:
        resp = http.post(f"{base}/api/v1/jobs/{job_id}/cancel", timeout=CANCEL_TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        return f"job {job_id} may still run: cancelling it failed ({exc})"
    except KeyboardInterrupt:
        return f"job {job_id} may still run: cancelling it was interrupted"
    if resp.status_code >= 400:
        return f"job {job_id} may still run: cancelling it answered HTTP {resp.status_code}"
    return f"job {job_id} cancelled"


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() == PARQUET_SUFFIX


def _content_type(path: Path) -> str:
    return PARQUET_TYPE if _is_parquet(path) else "text/csv"


def _format(path: Path) -> str:
    return "parquet" if _is_parquet(path) else "csv"


def _follow(http: requests.Session, base: str, job: dict[str, Any], progress: Progress) -> dict:
    url = f"{base}/api/v1/jobs/{job['id']}"
    while job["status"] in ("queued", "running"):
        p = job.get("progress") or {}
        progress.show(job["status"], p.get("done", 0), p.get("total", 0), "rows")
        job = _json(http.get(url, params={"wait": POLL_WAIT_SECONDS}, timeout=30))
    progress.done()
    return job


def _download(http: requests.Session, url: str, output: Path, progress: Progress) -> None:
    """Stream ``url`` into ``output`` through a ``.part`` file, deleted if anything stops it."""
    tmp = output.with_name(output.name + ".part")
    try:
        with http.get(url, stream=True, timeout=(10, 300)) as resp:
            if resp.status_code != 200:
                _json(resp)
            total = int(resp.headers.get("Content-Length") or 0)
            got = 0
            with tmp.open("wb") as out:
                for chunk in resp.iter_content(DOWNLOAD_BYTES):
                    out.write(chunk)
                    got += len(chunk)
                    progress.show("downloading", got, total, "bytes")
        progress.done()
        tmp.replace(output)
    except BaseException:
        progress.done()
        tmp.unlink(missing_ok=True)
        raise


def _json(resp: requests.Response) -> dict[str, Any]:
    """The body of a successful answer; ClientError with the server's problem otherwise."""
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code >= 400:
        if isinstance(body, dict):
            title = body.get("title", resp.reason)
            lines = [f"{title} ({resp.status_code}): {body.get('detail', '')}"]
            for e in body.get("errors") or []:
                loc = ".".join(str(x) for x in e.get("loc", []))
                lines.append(f"  {loc}: {e.get('msg', '')}")
            raise ClientError("\n".join(lines))
        raise ClientError(f"HTTP {resp.status_code}: {resp.text[:500]}")
    if not isinstance(body, dict):
        raise ClientError(f"unexpected answer (HTTP {resp.status_code}): {resp.text[:500]}")
    return body


class _Reading:
    """A file whose reads report how far they have got (requests streams it as the body)."""

    def __init__(self, f: IO[bytes], report: Any) -> None:
        self._f = f
        self._report = report
        self._read = 0

    def read(self, n: int = -1) -> bytes:
        data = self._f.read(n)
        self._read += len(data)
        self._report(self._read)
        return data

    def __len__(self) -> int:  # requests sends a Content-Length
        return os.fstat(self._f.fileno()).st_size - self._f.tell() + self._read


class Progress:
    """A one-line progress bar on a terminal; a line every few seconds elsewhere."""

    def __init__(self, stream: IO[str], every: float = 5.0) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.every = every
        self._last = 0.0
        self._open = False

    def show(self, what: str, done: int, total: int, unit: str) -> None:
        now = time.monotonic()
        if now - self._last < (TTY_REFRESH_SECONDS if self.tty else self.every):
            return
        self._last = now
        if total > 0:
            share = min(1.0, done / total)
            bar = "#" * int(share * BAR_WIDTH)
            text = f"{what:<11} [{bar:<{BAR_WIDTH}}] {share:6.1%} {done:,}/{total:,} {unit}"
        else:
            text = f"{what:<11} {done:,} {unit}"
        if self.tty:
            self.stream.write("\r" + text + "\x1b[K")
            self._open = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
        self._last = 0.0
