"""redis-py's readiness check under gevent (``web/readiness.py``), in a patched process."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from devsupport import ROOT

SCRIPT = textwrap.dedent(
    """
    from gevent import monkey
    monkey.patch_all()
    import socket, time, gevent
    from redis._parsers import hiredis
    from web import readiness

    assert readiness.install()
    assert isinstance(hiredis.select.poll(), readiness._Poll)  # what redis-py now polls with
    a, b = socket.socketpair()
    assert not hiredis._socket_can_read(a, 0)  # nothing to read
    b.send(b"+OK\\r\\n")
    assert hiredis._socket_can_read(a, 0)
    a.recv(16)
    # a check that waits keeps gevent's poll: the hub runs other greenlets meanwhile
    writer = gevent.spawn_later(0.05, b.send, b"+OK\\r\\n")
    started = time.monotonic()
    assert hiredis._socket_can_read(a, 2.0)
    assert writer.dead and time.monotonic() - started < 1.5
    print("ok")
    """
)


def run_python(script: str) -> str:
    """``script`` run by this Python in a process of its own, from the project root: its
    output (the process must end with 0)."""
    done = subprocess.run(
        [sys.executable, "-c", script],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_check_that_does_not_wait_answers_right_and_one_that_waits_lets_others_run() -> None:
    assert run_python(SCRIPT) == "ok"


def test_without_gevent_nothing_is_installed() -> None:
    script = "from web import readiness; assert not readiness.install(); print('ok')"
    assert run_python(script) == "ok"
