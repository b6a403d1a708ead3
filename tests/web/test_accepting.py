"""Keep-alive connections spread over the web's gunicorn workers (``web/accepting.py``).

Against the real gunicorn of the idle stack (2 gevent workers): 32 connections opened at
once, one request on each, then which worker process holds each (``ss``). Without the
balanced accept, one worker took 24 to all 32 of them in 10 of 12 such rounds.
"""

from __future__ import annotations

import asyncio
import collections
import re
import subprocess
import time
from urllib.parse import urlsplit

import pytest

from devsupport import wait_until
from devsupport.stack import Stack
from web.accepting import Board, should_defer

pytestmark = pytest.mark.integration
CONNECTIONS = 32
MOST_IN_ONE = 22  # of 32 between two workers: a worker holding more is a lopsided split


def holders(port: int, client_ports: set[int]) -> collections.Counter[str]:
    """How many of ``client_ports``' connections each web process (pid) holds."""
    out = subprocess.run(
        ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    held: collections.Counter[str] = collections.Counter()
    for line in out.splitlines():  # Recv-Q Send-Q local peer users:(("name",pid=N,fd=M))
        fields = line.split()
        pid = re.search(r"pid=(\d+)", line)
        if pid and int(fields[3].rsplit(":", 1)[1]) in client_ports:
            held[pid.group(1)] += 1
    return held


async def _open(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"GET /health HTTP/1.1\r\nHost: lifeboat\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    assert head.startswith(b"HTTP/1.1 200")  # accepted and answered
    return reader, writer


def one_round(host: str, port: int) -> collections.Counter[str]:
    """32 connections opened at once (as a client's pool opens them), each holding one
    request: who holds them."""

    async def together() -> collections.Counter[str]:
        opened = await asyncio.gather(*(_open(host, port) for _ in range(CONNECTIONS)))
        try:
            return holders(port, {w.get_extra_info("sockname")[1] for _, w in opened})
        finally:
            for _, writer in opened:
                writer.close()

    try:
        return asyncio.run(together())
    finally:
        time.sleep(0.5)  # the workers see them closed


def test_connections_opened_together_are_spread_over_the_web_workers(idle_stack: Stack) -> None:
    url = urlsplit(idle_stack.base_url)
    assert url.hostname is not None
    assert url.port is not None
    # gunicorn forks its workers before each has made the app: both must answer first
    wait_until(lambda: len(one_round(url.hostname, url.port)) == 2, 60, "both web workers")
    for _ in range(3):
        held = one_round(url.hostname, url.port)
        assert sum(held.values()) == CONNECTIONS
        assert len(held) == 2, held
        assert max(held.values()) <= MOST_IN_ONE, held


def test_a_worker_holding_more_connections_than_another_lets_a_new_one_go_first() -> None:
    assert should_defer(5, 3)
    assert not should_defer(3, 3)  # as few as any: it accepts at once
    assert not should_defer(2, 3)
    assert not should_defer(50, None)  # alone on the socket


def test_the_board_tells_each_worker_the_fewest_connections_another_holds() -> None:
    board = Board(slots=3)
    a, b = board.claim(set()), board.claim({0})
    assert (a, b) == (0, 1)
    assert board.fewest_elsewhere(a) is None  # b is booting: it has not accepted yet
    board.write(b, 0)
    assert board.fewest_elsewhere(a) == 0
    board.write(a, 7)
    board.write(b, 4)
    assert board.fewest_elsewhere(a) == 4
    assert board.fewest_elsewhere(b) == 7
    board.release(b)  # b exited: a is alone
    assert board.fewest_elsewhere(a) is None
    assert board.claim({0}) == 1  # its slot serves the next worker
    assert board.claim({0, 1, 2}) is None  # no room: that worker is not balanced
