"""gunicorn's HTTP/1 response with its header block and first body bytes in one send.

gunicorn writes a response's header block and its body with two ``send`` calls. Every
answer of the API is one small body (a job, a problem), so that is two system calls,
two loopback deliveries and two wake-ups of the client per request where one does.
:class:`Response` holds the header block back until the first body bytes (or the
response's end, for one without a body) and sends both together; a file sent with
``sendfile`` gets its header block first, as before. Installed in each gunicorn worker
by ``web/gunicorn_conf.py`` (``post_fork``): gunicorn builds every HTTP/1 response
from ``gunicorn.http.wsgi.Response``.
"""

from __future__ import annotations

from typing import Any

from gunicorn import util
from gunicorn.http import wsgi


class Response(wsgi.Response):
    """A response whose header block waits for its first body bytes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._writing = False  # inside write(): the header block may wait for the body
        self._held = b""  # the header block, built and not sent yet

    def send_headers(self) -> None:
        if self.headers_sent or not self._writing:
            super().send_headers()
            return
        tosend = self.default_headers()
        tosend.extend([f"{k}: {v}\r\n" for k, v in self.headers])
        self._held = util.to_bytestring("{}\r\n".format("".join(tosend)), "latin-1")
        self.headers_sent = True

    def write(self, arg: bytes) -> None:
        self._writing = True
        try:
            super().write(arg)
        finally:
            self._writing = False

    def _emit_body(self, data: bytes) -> None:
        held, self._held = self._held, b""
        if held and not self.chunked:
            util.write(self.sock, held + data)
            return
        if held:
            util.write(self.sock, held)
        super()._emit_body(data)

    def close(self) -> None:
        held, self._held = self._held, b""
        if held:  # no body bytes were written (a HEAD, a 204, an empty body)
            util.write(self.sock, held)
        super().close()


def install() -> None:
    """Make gunicorn build its HTTP/1 responses as :class:`Response` in this process."""
    wsgi.Response = Response  # type: ignore[misc]
