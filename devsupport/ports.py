"""Free TCP ports on loopback for the processes a test, a benchmark or ``make run`` starts."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"  # every process started here binds loopback only


def free_port() -> int:
    """A TCP port nothing listens on right now (the kernel picks it)."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]
