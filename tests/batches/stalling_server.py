"""A stand-in for Lifeboat's batch API that stops answering where a test needs the client stuck.

A real stack uploads and downloads over loopback faster than a test can send a
signal in the middle; this server answers like the real one (202 job, a
succeeded job, its result) but stalls mid-upload or mid-download until closed.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from devsupport import LOOPBACK

JOB_ID = "stalled-job"
UPLOAD_READ_BYTES = 64 * 1024  # what the server reads of an upload before it stalls
RESULT_BYTES = 64 * 1024 * 1024  # the result's announced Content-Length
RESULT_SENT_BYTES = 2 * 1024 * 1024  # what it sends of the result before it stalls
JOB = {"id": JOB_ID, "type": "batch", "status": "succeeded", "result": {"rows": 1}}


class StallingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, stall: str) -> None:
        super().__init__((LOOPBACK, 0), _Handler)
        self.stall = stall  # "upload" or "download"
        self.stalled = threading.Event()  # set once a request is stuck
        self.release = threading.Event()  # set at the end of the test

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: StallingServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        if self.server.stall == "upload":
            self.rfile.read(UPLOAD_READ_BYTES)
            self._stall()
            return
        self.rfile.read(int(self.headers["Content-Length"]))
        self._json(202, {**JOB, "status": "queued"})

    def do_GET(self) -> None:
        if not self.path.startswith(f"/api/v1/jobs/{JOB_ID}/result"):
            self._json(200, JOB)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(RESULT_BYTES))
        self.end_headers()
        self.wfile.write(b"x" * RESULT_SENT_BYTES)
        self.wfile.flush()
        self._stall()

    def _stall(self) -> None:
        self.server.stalled.set()
        self.server.release.wait()
        self.close_connection = True

    def _json(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def stalling_server(stall: str) -> Iterator[StallingServer]:
    """A StallingServer serving from a thread; released and closed at the end."""
    with StallingServer(stall) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            yield server
        finally:
            server.release.set()  # stuck handlers return, so shutdown() does not wait on them
            server.shutdown()


@contextmanager
def unanswered_port() -> Iterator[str]:
    """A URL whose port listens but accepts nothing more: a client's connect hangs there."""
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(0)
        url = f"http://{LOOPBACK}:{listener.getsockname()[1]}"
        with socket.create_connection(listener.getsockname()):  # fills the accept queue
            yield url
