"""A loopback HTTP/1.1 proxy that loses answers: the connection drops after the server
has handled a request but before its answer reaches the client.

Each request is read whole, forwarded, and the server's whole answer read; for the
first ``drops`` requests matching ``method`` and ``path`` the client's connection is
then closed without a byte of it. Every request's head is kept for the test to read.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from devsupport import LOOPBACK

HEAD_END = b"\r\n\r\n"
READ_BYTES = 65536


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    dropped: bool


@dataclass
class DroppingProxy:
    upstream_port: int
    method: str
    path: str
    drops: int = 1
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.create_server((LOOPBACK, 0))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self._listener.getsockname()[1]}"

    def close(self) -> None:
        self._stop.set()
        self._listener.close()

    def __enter__(self) -> DroppingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection((LOOPBACK, self.upstream_port))
        buf = bytearray()
        try:
            while True:
                request = _read_message(client, buf)
                if request is None:
                    return
                head = _head(request)
                upstream.sendall(request)
                answer = _read_message(upstream, bytearray())
                if answer is None:
                    return
                if self._drop(head):
                    return  # the server handled it; the client never hears
                client.sendall(answer)
        finally:
            client.close()
            upstream.close()

    def _drop(self, head: Seen) -> bool:
        with self._lock:
            drop = self.drops > 0 and (head.method, head.path) == (self.method, self.path)
            if drop:
                self.drops -= 1
            head.dropped = drop
            self.seen.append(head)
            return drop


def _read_message(sock: socket.socket, buf: bytearray) -> bytes | None:
    """One whole HTTP message (head and a Content-Length body) from ``sock``."""
    while HEAD_END not in buf:
        data = sock.recv(READ_BYTES)
        if not data:
            return None
        buf += data
    end = buf.index(HEAD_END) + len(HEAD_END)
    length = 0
    for line in bytes(buf[:end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(buf) < end + length:
        data = sock.recv(READ_BYTES)
        if not data:
            return None
        buf += data
    message = bytes(buf[: end + length])
    del buf[: end + length]
    return message


def _head(request: bytes) -> Seen:
    lines = request.split(HEAD_END, 1)[0].decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Seen(method, target.split("?", 1)[0], headers, dropped=False)
