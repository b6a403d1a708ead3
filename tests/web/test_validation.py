"""Bad input gets a 4xx problem naming every bad field, and nothing is queued.

The web runs without a worker, so a queued job would stay visible in the job
index, the pending list and the Celery queue; each test asserts all three are
unchanged (and a control test shows a valid request does change them).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import requests

from core.keys import Keys
from devsupport import Stack
from tests.payloads import PASSENGER

pytestmark = pytest.mark.integration
URL = "/api/v1/predictions"


def queued_state(stack: Stack) -> tuple[int, int, int]:
    r = stack.redis
    return (
        r.zcard(Keys().recent_jobs),
        r.llen(Keys().pending("prediction")),
        r.llen("predictions"),
    )


def post_raw(
    stack: Stack, data: bytes, content_type: str = "application/json", **kw: Any
) -> requests.Response:
    return stack.http.post(
        stack.url(URL), data=data, headers={"Content-Type": content_type}, timeout=10, **kw
    )


def post(stack: Stack, body: Any, **kw: Any) -> requests.Response:
    return stack.http.post(stack.url(URL), json=body, timeout=10, **kw)


def locs(r: requests.Response) -> list[list]:
    return [e["loc"] for e in r.json()["errors"]]


def test_a_valid_request_is_queued_once(idle_stack: Stack) -> None:
    before = queued_state(idle_stack)
    assert post(idle_stack, {"instances": [PASSENGER]}).status_code == 202
    after = queued_state(idle_stack)
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]


CASES: list[tuple[str, Any, int, list[list]]] = [
    ("wrong type", {"instances": [{**PASSENGER, "age": "old"}]}, 422, [["instances", 0, "age"]]),
    (
        "bool is not a number",
        {"instances": [{**PASSENGER, "fare": True}]},
        422,
        [["instances", 0, "fare"]],
    ),
    (
        "unknown category",
        {"instances": [{**PASSENGER, "sex": "robot"}]},
        422,
        [["instances", 0, "sex"]],
    ),
    ("out of range", {"instances": [{**PASSENGER, "age": -3}]}, 422, [["instances", 0, "age"]]),
    (
        "missing field",
        {"instances": [{k: v for k, v in PASSENGER.items() if k != "fare"}]},
        422,
        [["instances", 0, "fare"]],
    ),
    (
        "unknown field",
        {"instances": [{**PASSENGER, "name": "Ann"}]},
        422,
        [["instances", 0, "name"]],
    ),
    (
        "every bad field named",
        {"instances": [PASSENGER, {**PASSENGER, "age": "x", "sex": 1}]},
        422,
        [["instances", 1, "age"], ["instances", 1, "sex"]],
    ),
    ("empty list", {"instances": []}, 422, [["instances"]]),
    ("too many instances", {"instances": [PASSENGER] * 1001}, 422, [["instances"]]),
    ("instances missing", {}, 422, [["instances"]]),
    ("unknown top-level field", {"instances": [PASSENGER], "colour": 1}, 422, [["colour"]]),
    (
        "unknown model version",
        {"instances": [PASSENGER], "model_version": "nope"},
        422,
        [["model_version"]],
    ),
    ("body not an object", [PASSENGER], 422, [["body"]]),
]


@pytest.mark.parametrize(("case", "body", "status", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_naming_the_fields_and_nothing_is_queued(
    idle_stack: Stack, case: str, body: Any, status: int, expected: list[list]
) -> None:
    before = queued_state(idle_stack)
    r = post(idle_stack, body)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/problem+json"
    got = locs(r)
    for loc in expected:
        assert loc in got, got
    assert len(got) == len(expected), got
    assert queued_state(idle_stack) == before


def test_malformed_json_is_400(idle_stack: Stack) -> None:
    before = queued_state(idle_stack)
    r = post_raw(idle_stack, b'{"instances": [')
    assert r.status_code == 400
    assert locs(r) == [["body"]]
    assert queued_state(idle_stack) == before


def test_wrong_content_type_is_415(idle_stack: Stack) -> None:
    before = queued_state(idle_stack)
    r = post_raw(idle_stack, b"pclass=1", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 415
    assert locs(r) == [["header", "Content-Type"]]
    assert queued_state(idle_stack) == before


def test_oversized_body_is_413(idle_stack: Stack) -> None:
    before = queued_state(idle_stack)
    r = post_raw(idle_stack, b'{"instances": ["' + b"x" * (3 * 1024 * 1024) + b'"]}')
    assert r.status_code == 413
    assert r.headers["Content-Type"] == "application/problem+json"
    assert queued_state(idle_stack) == before


def test_wait_out_of_range_is_422_naming_the_parameter(idle_stack: Stack) -> None:
    before = queued_state(idle_stack)
    r = post(idle_stack, {"instances": [PASSENGER]}, params={"wait": "99"})
    assert r.status_code == 422
    assert locs(r) == [["query", "wait"]]
    assert queued_state(idle_stack) == before


def test_idempotency_key_gives_one_job(idle_stack: Stack) -> None:
    key = f"key-{time.time_ns()}"
    before = queued_state(idle_stack)
    answers: list[requests.Response] = []

    def send() -> None:
        answers.append(
            post(idle_stack, {"instances": [PASSENGER]}, headers={"Idempotency-Key": key})
        )

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [202] * 8
    assert len({a.json()["id"] for a in answers}) == 1
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == [""] + ["true"] * 7
    after = queued_state(idle_stack)
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1]


def test_idempotency_key_reused_with_another_body_is_409(idle_stack: Stack) -> None:
    key = f"key-{time.time_ns()}"
    first = post(idle_stack, {"instances": [PASSENGER]}, headers={"Idempotency-Key": key})
    assert first.status_code == 202
    second = post(
        idle_stack, {"instances": [{**PASSENGER, "age": 30.0}]}, headers={"Idempotency-Key": key}
    )
    assert second.status_code == 409
    assert locs(second) == [["header", "Idempotency-Key"]]


def test_a_queued_job_can_be_cancelled_once(idle_stack: Stack) -> None:
    job = post(idle_stack, {"instances": [PASSENGER]}).json()
    r = idle_stack.http.delete(idle_stack.url(f"/api/v1/jobs/{job['id']}"), timeout=5)
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    again = idle_stack.http.delete(idle_stack.url(f"/api/v1/jobs/{job['id']}"), timeout=5)
    assert again.status_code == 409


def test_long_poll_of_a_queued_job_returns_its_state_after_the_wait(idle_stack: Stack) -> None:
    job = post(idle_stack, {"instances": [PASSENGER]}).json()
    started = time.monotonic()
    r = idle_stack.http.get(
        idle_stack.url(f"/api/v1/jobs/{job['id']}"), params={"wait": 0.5}, timeout=5
    )
    assert time.monotonic() - started >= 0.5
    assert r.json()["status"] == "queued"


def test_unknown_route_is_a_404_problem(idle_stack: Stack) -> None:
    r = idle_stack.http.get(idle_stack.url("/api/v1/nothing"), timeout=5)
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/problem+json"


def test_ready_is_503_without_a_worker(idle_stack: Stack) -> None:
    r = idle_stack.http.get(idle_stack.url("/ready"), timeout=10)
    assert r.status_code == 503
    assert r.json()["checks"]["workers"]["ok"] is False
