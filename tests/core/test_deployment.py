"""The traffic policy's routing and changes; the store against a real Redis."""

from __future__ import annotations

import threading
import uuid

import pytest

from core.deployment import (
    Canary,
    DeploymentStore,
    Guard,
    Policy,
    Routing,
    canary_ended,
    choose,
    promoted,
    replaced,
    rolled_back,
)
from core.errors import DeploymentConflict
from core.keys import Keys
from devsupport import RedisServer

CANARY = Policy("v1", Canary("v2", 0.1))
WHO = {"key_id": "key_test", "tenant": "ops"}


def test_without_a_canary_every_request_gets_the_default() -> None:
    assert choose(None, "v1", "alice") == ("v1", Routing.DEFAULT)
    assert choose(Policy("v1", Canary("v2", 0.0)), "v1", None) == ("v1", Routing.DEFAULT)


def test_the_canary_serves_about_its_share_of_distinct_ids() -> None:
    served = sum(
        choose(CANARY, "v1", str(uuid.uuid4()))[1] is Routing.CANARY for _ in range(20_000)
    )
    assert 1_800 <= served <= 2_200  # 10 % of 20,000, +-4.7 standard deviations


def test_a_larger_share_keeps_every_id_the_smaller_one_sent_to_the_canary() -> None:
    ids = [f"id-{i}" for i in range(2_000)]
    small = {i for i in ids if choose(CANARY, "v1", i)[1] is Routing.CANARY}
    large = {i for i in ids if choose(Policy("v1", Canary("v2", 0.3)), "v1", i)[0] == "v2"}
    assert small
    assert small < large


def test_without_a_key_the_draw_decides() -> None:
    assert choose(CANARY, "v1", None, draw=lambda: 0.05) == ("v2", Routing.CANARY)
    assert choose(CANARY, "v1", None, draw=lambda: 0.10) == ("v1", Routing.DEFAULT)


def test_a_new_default_keeps_the_one_serving_for_a_rollback() -> None:
    first = replaced(None, "v0", "v1", None, [])
    assert first.previous_default == "v0"
    same = replaced(first, "v1", "v1", Canary("v2", 0.5), ["v3"])
    assert (same.previous_default, same.canary, same.shadow) == ("v0", Canary("v2", 0.5), ("v3",))


def test_promoting_the_canary_ends_it_and_rolling_back_restores_the_old_default() -> None:
    policy = promoted(Policy("v1", Canary("v2", 0.1), ("v2", "v3")), "v1", "v2")
    assert (policy.default, policy.canary, policy.shadow, policy.previous_default) == (
        "v2",
        None,
        ("v3",),
        "v1",
    )
    back = rolled_back(Policy("v2", Canary("v3", 0.2), ("v3",), "v1"))
    assert (back.default, back.canary, back.previous_default) == ("v1", None, None)
    with pytest.raises(DeploymentConflict):
        rolled_back(back)
    with pytest.raises(DeploymentConflict):
        rolled_back(None)


@pytest.fixture
def store(own_redis: RedisServer) -> DeploymentStore:
    return DeploymentStore(own_redis.client(), Keys("t"), history_max=5)


@pytest.mark.integration
def test_each_change_is_stored_with_its_audit_entry_and_the_list_is_capped(
    store: DeploymentStore,
) -> None:
    assert store.read() is None

    def to(version: str):  # a change from whatever serves (the stored default, else v0)
        return lambda before: replaced(
            before, before.default if before else "v0", version, None, []
        )

    for i in range(7):
        store.change("set", WHO, to(f"v{i}"))
    stored = store.read()
    assert stored is not None
    assert (stored.default, stored.previous_default, stored.revision) == ("v6", "v5", 7)
    history = store.history(100)
    assert len(history) == 5
    assert [e["after"]["revision"] for e in history] == [7, 6, 5, 4, 3]
    assert history[0]["before"] == history[1]["after"]
    assert history[0]["who"] == WHO


@pytest.mark.integration
def test_a_refused_change_writes_nothing(store: DeploymentStore) -> None:
    with pytest.raises(DeploymentConflict):
        store.change("rollback", WHO, rolled_back)
    assert store.read() is None
    assert store.history(10) == []


@pytest.mark.integration
def test_concurrent_changes_each_land_once(store: DeploymentStore) -> None:
    def bump(n: int) -> None:
        for _ in range(n):
            store.change("set", WHO, lambda before: replaced(before, "v0", "v1", None, []))

    threads = [threading.Thread(target=bump, args=(10,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stored = store.read()
    assert stored is not None
    assert stored.revision == 40


def test_a_guard_survives_the_stored_json_and_every_change_but_ends_with_no_canary() -> None:
    guard = Guard(max_error_rate=0.05, min_predictions=200)
    policy = Policy("v1", Canary("v2", 0.1), ("v3",), guard=guard)
    assert Policy.from_dict(policy.to_dict()) == policy
    assert policy.to_dict()["guard"] == {
        "max_error_rate": 0.05,
        "min_accuracy": None,
        "min_predictions": 200,
        "min_labelled": 50,
    }
    assert promoted(policy, "v1", "v3").guard == guard
    assert replaced(policy, "v1", "v1", None, []).guard is None


def test_the_guard_ends_only_the_canary_it_judged() -> None:
    policy = Policy("v1", Canary("v2", 0.1), ("v3",), "v0", revision=4)
    ended = canary_ended(policy, "v2")
    assert (ended.default, ended.canary, ended.shadow, ended.previous_default) == (
        "v1",
        None,
        ("v3",),
        "v0",
    )
    with pytest.raises(DeploymentConflict):
        canary_ended(policy, "v9")
    with pytest.raises(DeploymentConflict):
        canary_ended(ended, "v2")
