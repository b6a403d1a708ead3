"""A keep-alive HTTP/1.1 connection on asyncio streams, for the asyncio load generators.

Hand-written on purpose: the load generator shares the machine's two cores with the
stack it measures, so its own cost per request is part of the noise. ``httpx``'s
``AsyncClient`` builds request and response models, normalises headers and keeps a
pool's bookkeeping on every request, for features the bench never uses (TLS,
redirects, cookies, HTTP/2). This speaks just what gunicorn answers:
``Content-Length`` bodies (and chunked ones, to be safe), keep-alive, loopback only.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from typing import Any

import uvloop

MAX_HEADER_LINES = 100  # a response with more is a protocol error here


class HTTPError(Exception):
    """The server's answer was not HTTP/1.1 as expected (or the connection dropped)."""


class Connection:
    """One keep-alive connection; requests on it run one after the other."""

    def __init__(self, host: str, port: int, headers: dict[str, str], timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        fixed = {"Host": f"{host}:{port}", "Connection": "keep-alive", **headers}
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()).encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def request(
        self, method: str, path: str, body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        """(status, headers with lower-case names, body); reconnects if it has to."""
        return await asyncio.wait_for(self._request(method, path, body, content_type), self.timeout)

    async def _request(
        self, method: str, path: str, body: bytes | None, content_type: str | None
    ) -> tuple[int, dict[bytes, bytes], bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        head = f"{method} {path} HTTP/1.1\r\n".encode() + self._fixed
        if body is not None:
            head += f"Content-Length: {len(body)}\r\n".encode()
            if content_type:
                head += f"Content-Type: {content_type}\r\n".encode()
        writer.write(head + b"\r\n" + (body or b""))
        try:
            status_line = await reader.readuntil(b"\r\n")
            parts = status_line.split(b" ", 2)
            if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
                raise HTTPError(f"bad status line {status_line!r}")
            status = int(parts[1])
            headers: dict[bytes, bytes] = {}
            for _ in range(MAX_HEADER_LINES):
                line = await reader.readuntil(b"\r\n")
                if line == b"\r\n":
                    break
                name, _, value = line.partition(b":")
                headers[name.strip().lower()] = value.strip()
            else:
                raise HTTPError("too many header lines")
            if b"content-length" in headers:
                data = await reader.readexactly(int(headers[b"content-length"]))
            elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
                data = await _chunked(reader)
            else:
                data = await reader.read()  # the server closes to end the body
                self.close()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            self.close()
            raise HTTPError(str(exc)) from exc
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return status, headers, data

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return bytes(out)
        out += await reader.readexactly(size)
        await reader.readexactly(2)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop: a cheaper load generator than asyncio's own."""
    return uvloop.new_event_loop()


def run_and_print(work: Coroutine[Any, Any, dict[str, Any]]) -> int:
    """Run a load generator's ``work`` on uvloop and print its figures as one JSON line."""
    loop = new_event_loop()
    try:
        figures = loop.run_until_complete(work)
    finally:
        loop.close()
    json.dump(figures, sys.stdout)
    sys.stdout.write("\n")
    return 0
