"""Per-key admission: a key's requests in progress per web process, held past the cap.

The unit tests drive :class:`web.admission.Admission` with threads; the integration tests
run real gunicorn (one worker, so "per process" is the whole server) on a real Redis and
hold a request in progress by sending its body slowly.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import stores
from core.settings import Settings
from devsupport import LOOPBACK, RedisServer, Stack, make_stack
from tests.conftest import new_db
from tests.payloads import PASSENGER
from web.admission import Admission

LIMITED = "/api/v1/models"  # a limited operation that needs neither Redis nor a worker


# --- the counter itself -----------------------------------------------------------------------
def contended(most: int, wait_seconds: float, **kwargs: float) -> Admission:
    """An Admission in which another key ("other") has just sent a request."""
    admission = Admission(most=most, wait_seconds=wait_seconds, **kwargs)
    assert admission.enter("other")
    admission.leave("other")
    return admission


def test_a_key_alone_in_the_process_is_not_capped() -> None:
    admission = Admission(most=1, wait_seconds=0)
    assert all(admission.enter("k") for _ in range(50))
    assert admission.in_progress("k") == 50


def test_requests_up_to_the_cap_are_admitted_at_once_and_the_next_waits_for_a_place() -> None:
    admission = contended(most=2, wait_seconds=5)
    assert admission.enter("k")
    assert admission.enter("k")
    admitted = threading.Event()

    def third() -> None:
        if admission.enter("k"):
            admitted.set()

    waiter = threading.Thread(target=third)
    waiter.start()
    assert not admitted.wait(0.2)  # both places are taken
    admission.leave("k")
    assert admitted.wait(2)
    waiter.join()
    assert admission.in_progress("k") == 2


def test_a_request_that_waits_past_its_time_is_refused_and_leaves_no_trace() -> None:
    admission = contended(most=1, wait_seconds=0.1)
    assert admission.enter("k")
    started = time.monotonic()
    assert not admission.enter("k")
    assert time.monotonic() - started >= 0.1
    admission.leave("k")
    assert admission.in_progress("k") == 0
    assert admission.enter("k")  # the place is free again


def test_keys_are_counted_apart() -> None:
    admission = Admission(most=1, wait_seconds=0)
    assert admission.enter("a")
    assert admission.enter("b")
    assert not admission.enter("a")
    assert not admission.enter("b")


def test_past_the_most_waiting_requests_a_request_is_refused_without_waiting() -> None:
    admission = contended(most=1, wait_seconds=5, max_waiting=1)
    assert admission.enter("k")
    waiter = threading.Thread(target=admission.enter, args=("k",))
    waiter.start()
    time.sleep(0.1)
    started = time.monotonic()
    assert not admission.enter("k")
    assert time.monotonic() - started < 1
    admission.leave("k")
    waiter.join()


def test_waiting_requests_are_admitted_first_come_first_served() -> None:
    admission = contended(most=1, wait_seconds=5)
    assert admission.enter("k")
    order: list[int] = []

    def wait_then_note(n: int) -> None:
        admission.enter("k")
        order.append(n)
        admission.leave("k")

    threads = []
    for n in range(5):
        threads.append(threading.Thread(target=wait_then_note, args=(n,)))
        threads[-1].start()
        time.sleep(0.05)  # each is waiting before the next arrives
    admission.leave("k")
    for t in threads:
        t.join()
    assert order == [0, 1, 2, 3, 4]


def test_a_light_key_beside_a_heavy_one_is_never_held() -> None:
    admission = contended(most=1, wait_seconds=5)
    assert admission.enter("heavy")
    held = [threading.Thread(target=admission.enter, args=("heavy",)) for _ in range(3)]
    for t in held:
        t.start()
    time.sleep(0.1)
    assert admission.in_progress("heavy") == 1  # three wait: "other" was lighter
    started = time.monotonic()
    assert admission.enter("light")
    assert admission.enter("light")  # past the cap, but lighter than "heavy" (1 + 3)
    assert time.monotonic() - started < 0.5
    for _ in range(3):
        admission.leave("heavy")
    for t in held:
        t.join(3)
    assert admission.in_progress("heavy") == 1


def test_once_the_other_keys_go_quiet_the_waiting_requests_are_all_admitted() -> None:
    admission = contended(most=1, wait_seconds=5, active_seconds=0.3)
    assert admission.enter("k")
    admitted: list[bool] = []
    threads = [
        threading.Thread(target=lambda: admitted.append(admission.enter("k"))) for _ in range(3)
    ]
    for t in threads:
        t.start()
    time.sleep(0.1)
    assert admitted == []  # "other" was active a moment ago
    for t in threads:
        t.join(3)
    assert admitted == [True, True, True]
    assert admission.in_progress("k") == 4


# --- against real gunicorn ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def admitting_stack(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    s = make_stack(
        redis_server,
        new_db(),
        models_dir,
        tmp_path_factory.mktemp("admission"),
        LIFEBOAT_WEB_WORKERS="1",
        LIFEBOAT_KEY_MAX_CONCURRENT_REQUESTS="1",
        LIFEBOAT_KEY_ADMISSION_WAIT_SECONDS="0.5",
    )
    s.start_web()
    yield s
    s.stop_all()


def new_key(stack: Stack) -> dict[str, str]:
    _, token = stores.api_keys(Settings(), stack.redis).create(
        name="admission test",
        tenant=f"t-{uuid.uuid4().hex[:8]}",
        scopes=frozenset({"predict", "read", "batch"}),
    )
    return {"Authorization": f"Bearer {token}"}


def get(stack: Stack, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection(LOOPBACK, int(stack.env["LIFEBOAT_WEB_PORT"]), timeout=10)
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


class SlowUpload:
    """A batch upload whose body is still being sent: its request is in progress."""

    def __init__(self, stack: Stack, headers: dict[str, str]) -> None:
        self.sock = socket.create_connection((LOOPBACK, int(stack.env["LIFEBOAT_WEB_PORT"])))
        head = [
            "POST /api/v1/batches HTTP/1.1",
            f"Host: {LOOPBACK}",
            "Content-Type: text/csv",
            "Content-Length: 100000",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + b"pclass,sex,age\n")
        time.sleep(0.2)  # the web has read the head and admitted the request

    def close(self) -> None:
        self.sock.close()


def test_a_keys_request_past_its_cap_is_429_with_retry_after_and_another_key_is_served(
    admitting_stack: Stack,
) -> None:
    busy, other = new_key(admitting_stack), new_key(admitting_stack)
    assert get(admitting_stack, LIMITED, other).status == 200  # another tenant is active
    upload = SlowUpload(admitting_stack, busy)
    try:
        refused = get(admitting_stack, LIMITED, busy)
        assert refused.status == 429
        assert refused.getheader("Retry-After") == "1"
        assert refused.getheader("Content-Type") == "application/problem+json"
        assert get(admitting_stack, LIMITED, other).status == 200
    finally:
        upload.close()
    time.sleep(0.3)  # the web sees the connection close and ends the request
    assert get(admitting_stack, LIMITED, busy).status == 200


def test_a_request_waiting_for_its_job_gives_its_place_up(admitting_stack: Stack) -> None:
    key, other = new_key(admitting_stack), new_key(admitting_stack)
    assert get(admitting_stack, LIMITED, other).status == 200  # another tenant is active
    port = int(admitting_stack.env["LIFEBOAT_WEB_PORT"])
    conn = http.client.HTTPConnection(LOOPBACK, port, timeout=10)
    body = json.dumps({"instances": [PASSENGER]})
    conn.request(
        "POST",
        "/api/v1/predictions?wait=3",  # no worker runs: the job stays queued, the POST waits
        body=body,
        headers={**key, "Content-Type": "application/json"},
    )
    time.sleep(0.3)  # the POST has queued its job and waits for it
    try:
        assert get(admitting_stack, LIMITED, key).status == 200
    finally:
        assert conn.getresponse().status == 202
        conn.close()
