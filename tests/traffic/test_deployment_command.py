"""``lifeboat deployment …`` (the SDK's methods underneath) against a live stack."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from devsupport import PY, ROOT, Stack
from tests.traffic.conftest import V1, V2

pytestmark = pytest.mark.integration


def lifeboat(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**stack.env, "LIFEBOAT_URL": stack.base_url, "LIFEBOAT_API_KEY": stack.admin_key}
    return subprocess.run(
        [PY, "-m", "client", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def as_json(stack: Stack, *args: str) -> Any:
    done = lifeboat(stack, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_set_promote_rollback_and_history_from_the_command_line(traffic_stack: Stack) -> None:
    policy = as_json(
        traffic_stack, "deployment", "set", "--default", V1, "--canary", V2, "--share", "0.25"
    )
    assert (policy["default"], policy["canary"]) == (V1, {"version": V2, "share": 0.25})
    assert as_json(traffic_stack, "deployment", "show") == policy

    promoted = as_json(traffic_stack, "deployment", "promote", V2)
    assert (promoted["default"], promoted["canary"], promoted["previous_default"]) == (V2, None, V1)
    rolled_back = as_json(traffic_stack, "deployment", "rollback")
    assert (rolled_back["default"], rolled_back["previous_default"]) == (V1, None)

    history = as_json(traffic_stack, "deployment", "history", "--limit", "3")
    assert [e["action"] for e in history] == ["rollback", "promote", "set"]
    table = lifeboat(traffic_stack, "deployment", "history", "--limit", "3")
    assert table.returncode == 0, table.stderr
    assert "promote" in table.stdout
    assert V2 in table.stdout


def test_a_rollback_with_nothing_to_roll_back_to_fails_with_the_servers_reason(
    traffic_stack: Stack,
) -> None:
    as_json(traffic_stack, "deployment", "set", "--default", V1)
    as_json(traffic_stack, "deployment", "set", "--default", V2)  # V1 kept for a rollback
    assert as_json(traffic_stack, "deployment", "rollback")["default"] == V1
    done = lifeboat(traffic_stack, "deployment", "rollback")
    assert done.returncode != 0
    assert "no previous default" in done.stderr


def test_set_takes_shadow_versions_and_a_guard_and_show_names_them(traffic_stack: Stack) -> None:
    policy = as_json(
        traffic_stack,
        "deployment",
        "set",
        "--default",
        V1,
        "--canary",
        V2,
        "--shadow",
        V2,
        "--max-error-rate",
        "0.05",
        "--min-predictions",
        "200",
    )
    assert (policy["shadow"], policy["guard"]["max_error_rate"]) == ([V2], 0.05)
    assert policy["guard"]["min_predictions"] == 200
    table = lifeboat(traffic_stack, "deployment", "show")
    assert table.returncode == 0, table.stderr
    assert "max_error_rate 0.05" in table.stdout
    cleared = as_json(traffic_stack, "deployment", "set", "--default", V1)
    assert (cleared["shadow"], cleared["guard"]) == ([], None)
