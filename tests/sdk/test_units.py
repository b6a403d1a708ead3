"""The SDK's pure parts: retry waits, errors, request bodies, what the CLI reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tenacity

from lifeboat_client import calls
from lifeboat_client.cli import inputs
from lifeboat_client.errors import (
    NotFound,
    ServerError,
    TooManyRequests,
    ValidationError,
    api_error,
)
from lifeboat_client.transport import RetryPolicy, _Wait


def wait_after(exc: BaseException, policy: RetryPolicy, attempt: int = 1) -> float:
    state = tenacity.RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    state.attempt_number = attempt
    state.set_exception((type(exc), exc, None))
    return _Wait(policy)(state)


def test_a_retry_waits_at_least_what_retry_after_asks() -> None:
    policy = RetryPolicy(initial=0.5, maximum=30, jitter=0)
    exc = api_error(429, {"title": "Too many requests", "detail": "slow down"}, "", 7.0)
    assert wait_after(exc, policy) == 7.0


def test_retry_after_is_capped_by_the_longest_wait() -> None:
    policy = RetryPolicy(initial=0.5, maximum=10, jitter=0)
    exc = api_error(503, {"title": "Service unavailable"}, "", 3600.0)
    assert wait_after(exc, policy) == 10.0


def test_backoff_doubles_with_each_attempt_without_retry_after() -> None:
    policy = RetryPolicy(initial=0.5, maximum=30, jitter=0)
    exc = ConnectionError("refused")
    assert [wait_after(exc, policy, n) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]


def test_jitter_adds_at_most_its_bound() -> None:
    policy = RetryPolicy(initial=1, maximum=30, jitter=0.5)
    waits = {wait_after(ConnectionError(), policy) for _ in range(50)}
    assert all(1.0 <= w <= 1.5 for w in waits)
    assert len(waits) > 1


def test_a_problem_becomes_the_error_of_its_status_with_its_fields() -> None:
    body = {
        "type": "about:blank",
        "title": "Invalid request",
        "status": 422,
        "detail": "2 invalid fields",
        "errors": [
            {"loc": ["instances", 0, "age"], "msg": "must be between 0 and 160"},
            {"loc": ["instances", 1, "sex"], "msg": "field required"},
        ],
    }
    exc = api_error(422, body, "UNPROCESSABLE ENTITY")
    assert isinstance(exc, ValidationError)
    assert (exc.status, exc.title, exc.errors) == (422, "Invalid request", body["errors"])
    assert str(exc) == (
        "Invalid request (422): 2 invalid fields "
        "(instances.0.age: must be between 0 and 160; instances.1.sex: field required)"
    )


def test_an_answer_that_is_not_a_problem_still_gets_a_typed_error() -> None:
    exc = api_error(502, "<html>bad gateway</html>", "Bad Gateway")
    assert isinstance(exc, ServerError)
    assert str(exc) == "Bad Gateway (502): <html>bad gateway</html>"
    assert isinstance(api_error(404, {"title": "Job not found"}, ""), NotFound)
    assert api_error(429, {"title": "Too many"}, "", 2.0).retry_after == 2.0
    assert isinstance(api_error(429, None, "Too Many Requests"), TooManyRequests)


def test_windows_are_written_as_the_api_wants_them() -> None:
    assert calls.window_json(5000) == {"last": 5000}
    assert calls.window_json(("2026-12-01T00:00:00Z", None)) == {"since": "2026-12-01T00:00:00Z"}
    assert calls.window_json({"since": "a", "until": "b"}) == {"since": "a", "until": "b"}
    with pytest.raises(TypeError):
        calls.window_json(True)


def test_every_prediction_submission_carries_a_fresh_idempotency_key() -> None:
    one = calls.submit_prediction([{}], model_version=None, wait=None, idempotency_key=None)
    two = calls.submit_prediction([{}], model_version=None, wait=None, idempotency_key=None)
    assert one.headers["Idempotency-Key"] != two.headers["Idempotency-Key"]
    chosen = calls.submit_prediction([{}], model_version=None, wait=None, idempotency_key="k-1")
    assert chosen.headers["Idempotency-Key"] == "k-1"


def test_long_polls_ask_for_20_seconds_at_most_and_read_longer() -> None:
    call = calls.get_job("j", wait=300)
    assert call.query() == {"wait": 20.0}
    assert call.read_timeout == 50.0


def test_csv_cells_that_read_as_numbers_are_sent_as_numbers(tmp_path: Path) -> None:
    source = tmp_path / "people.csv"
    source.write_text("id,pclass,age,fare,sex\nalice,1,29,211.34,female\nbob,3,,7.25,male\n")
    assert inputs.instances(str(source)) == [
        {"id": "alice", "pclass": 1, "age": 29, "fare": 211.34, "sex": "female"},
        {"id": "bob", "pclass": 3, "age": None, "fare": 7.25, "sex": "male"},
    ]


def test_json_json_lines_and_an_instances_object_are_read_alike(tmp_path: Path) -> None:
    rows = [{"pclass": 1}, {"pclass": 2}]
    (tmp_path / "a.json").write_text(json.dumps(rows))
    (tmp_path / "b.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    (tmp_path / "c.txt").write_text(json.dumps({"instances": rows}, indent=2))
    (tmp_path / "d.txt").write_text("\n".join(json.dumps(r) for r in rows))
    for name in ("a.json", "b.jsonl", "c.txt", "d.txt"):
        assert inputs.instances(str(tmp_path / name)) == rows, name


def test_bad_json_names_the_file_and_line(tmp_path: Path) -> None:
    source = tmp_path / "x.jsonl"
    source.write_text('{"pclass": 1}\n{"pclass": \n')
    with pytest.raises(inputs.InputError, match=r"x.jsonl: invalid JSON at line 2"):
        inputs.instances(str(source))


def test_feedback_rows_need_an_id_and_a_label(tmp_path: Path) -> None:
    source = tmp_path / "labels.csv"
    source.write_text("prediction_id,actual\nj-0,survived\nj-1,\n")
    with pytest.raises(inputs.InputError, match="item 2 lacks prediction_id or actual"):
        inputs.feedback_items(str(source))
