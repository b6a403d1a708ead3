"""``python -m client batch INPUT -o OUTPUT``: upload a file, follow the job, download the result.

INPUT is CSV, or Parquet when its name ends in ``.parquet``; OUTPUT is written
as Parquet when its name ends in ``.parquet``, as CSV otherwise.

Progress goes to stderr (a bar on a terminal, a line now and then otherwise);
the exit status is 0 when the scored file was written, 1 when the server
refused the file or the job failed (its message is printed), 130 on Ctrl-C
(the job is cancelled first).
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
BAR_WIDTH = 30
TTY_REFRESH_SECONDS = 0.1  # a terminal's bar is redrawn at most this often


class ClientError(Exception):
    """Something the user must be told; the message is the server's when it gave one."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    progress = Progress(sys.stderr)
    try:
        return batch(args, progress)
    except ClientError as exc:
        progress.done()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except requests.RequestException as exc:
        progress.done()
        print(f"error: cannot talk to {args.url}: {exc}", file=sys.stderr)
        return 1


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
    b.add_argument("--id-column", help="input column to copy into the output as the row key")
    b.add_argument("--model-version", help="model version (default: the server's default)")
    return p


def batch(args: argparse.Namespace, progress: Progress) -> int:
    base = args.url.rstrip("/")
    size = args.input.stat().st_size
    params = {
        k: v for k, v in (("id_column", args.id_column), ("model_version", args.model_version)) if v
    }
    with requests.Session() as http, args.input.open("rb") as f:
        body = _Reading(f, lambda n: progress.show("uploading", n, size, "bytes"))
        resp = http.post(
            f"{base}/api/v1/batches",
            data=body,
            params=params,
            headers={"Content-Type": _content_type(args.input), "Content-Length": str(size)},
            timeout=(10, None),
        )
        job = _json(resp)
        try:
            job = _follow(http, base, job, progress)
        except KeyboardInterrupt:
            progress.done()
            http.post(f"{base}/api/v1/jobs/{job['id']}/cancel", timeout=10)
            print(f"cancelled job {job['id']}", file=sys.stderr)
            return 130
        if job["status"] != "succeeded":
            error = job.get("error") or {}
            raise ClientError(f"job {job['id']} {job['status']}: {error.get('detail', '')}")
        result_url = f"{base}/api/v1/jobs/{job['id']}/result?format={_format(args.output)}"
        _download(http, result_url, args.output, progress)
    result = job.get("result") or {}
    print(
        f"scored {result.get('rows', '?')} row(s), {result.get('failed_rows', 0)} with errors "
        f"(see the 'error' column) -> {args.output}",
        file=sys.stderr,
    )
    return 0


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
    tmp = output.with_name(output.name + ".part")
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
