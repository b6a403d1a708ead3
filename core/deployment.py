"""The deployment's traffic policy: which model version serves a request that names none.

This module owns the record's shape. The policy is one JSON string (``Keys.deployment``)::

    {"default": "v1", "canary": {"version": "v2", "share": 0.1}, "shadow": ["v3"],
     "guard": {"max_error_rate": 0.05, "min_accuracy": 0.7, "min_predictions": 200,
               "min_labelled": 50},
     "previous_default": "v0", "revision": 7, "updated_at": 1764560000.0}

``previous_default`` is the default a change replaced, kept for a rollback; ``revision``
counts the changes. ``guard`` (optional) ends the canary when it fails past a threshold
(``workers.deployment.guard`` checks it). Every change is one Redis transaction
(``WATCH``/``MULTI``) that also pushes an audit entry on ``Keys.deployment_history``
(newest first, at most ``HISTORY_MAX``; the guard's entries also say why, ``reason``)::

    {"at": 1764560000.0, "action": "promote", "who": {"key_id": "key_…", "tenant": "ops"},
     "before": {…policy…} | null, "after": {…policy…}}

With no policy stored the web serves the models folder's default (``DEFAULT``), as before.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any

import redis

from core.errors import DeploymentConflict
from core.keys import Keys

HISTORY_MAX = 1000  # audit entries kept; older ones are dropped
DEFAULT_GUARD_MIN_PREDICTIONS = 100  # canary predictions before the guard judges its errors
DEFAULT_GUARD_MIN_LABELLED = 50  # canary predictions with feedback before it judges accuracy
HASH_SPACE = float(2**64)  # a stable hash's first 8 bytes, as a fraction of this, is in [0, 1)


class Routing(StrEnum):
    """Why a job was given its model version."""

    DEFAULT = "default"  # the request named none; the policy's default served it
    CANARY = "canary"  # the request named none; it fell in the canary's share
    PINNED = "pinned"  # the request named the version


@dataclass(frozen=True)
class Canary:
    version: str
    share: float  # in [0, 1]: the fraction of unpinned requests it serves


@dataclass(frozen=True)
class Guard:
    """When the canary is ended automatically (each threshold optional)."""

    max_error_rate: float | None = None  # failed / finished canary predictions, above: ended
    min_accuracy: float | None = None  # measured on the canary's feedback, below: ended
    min_predictions: int = DEFAULT_GUARD_MIN_PREDICTIONS  # before the error rate is judged
    min_labelled: int = DEFAULT_GUARD_MIN_LABELLED  # labelled predictions before accuracy is

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Guard:
        return cls(**{k: v for k, v in d.items() if k in GUARD_FIELDS and v is not None})


GUARD_FIELDS = ("max_error_rate", "min_accuracy", "min_predictions", "min_labelled")


@dataclass(frozen=True)
class Policy:
    default: str
    canary: Canary | None = None
    shadow: tuple[str, ...] = ()  # each scores every prediction job off the response path
    previous_default: str | None = None
    revision: int = 0
    updated_at: float | None = None
    guard: Guard | None = None  # ends the canary automatically (None: never)

    def to_dict(self) -> dict[str, Any]:
        return {
            "default": self.default,
            "canary": (
                {"version": self.canary.version, "share": self.canary.share}
                if self.canary
                else None
            ),
            "shadow": list(self.shadow),
            "guard": self.guard.to_dict() if self.guard else None,
            "previous_default": self.previous_default,
            "revision": self.revision,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Policy:
        canary = d.get("canary")
        return cls(
            default=d["default"],
            canary=Canary(canary["version"], float(canary["share"])) if canary else None,
            shadow=tuple(d.get("shadow") or ()),
            guard=Guard.from_dict(d["guard"]) if d.get("guard") else None,
            previous_default=d.get("previous_default"),
            revision=int(d.get("revision") or 0),
            updated_at=d.get("updated_at"),
        )

    def versions(self) -> set[str]:
        """Every version the policy names (to check that each is installed)."""
        named = {self.default, *self.shadow}
        return named | {self.canary.version} if self.canary else named


def stable_fraction(key: str, salt: str) -> float:
    """A number in [0, 1) that depends only on ``key`` and ``salt`` (sha256)."""
    digest = hashlib.sha256(f"{salt}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / HASH_SPACE


def choose(
    policy: Policy | None,
    default: str,
    key: str | None,
    draw: Callable[[], float] = random.random,
) -> tuple[str, Routing]:
    """The version for a request that names none: the canary's with probability ``share``
    (decided by ``key``'s stable hash when there is a key, else by ``draw``), else
    ``default``. A larger share keeps every key the smaller one sent to the canary."""
    canary = policy.canary if policy else None
    if canary is None or canary.share <= 0:
        return default, Routing.DEFAULT
    point = stable_fraction(key, canary.version) if key is not None else draw()
    return (canary.version, Routing.CANARY) if point < canary.share else (default, Routing.DEFAULT)


# --- changes: pure functions of the policy before (None: none stored) --------------------
def _kept(before: Policy | None, current: str, new_default: str) -> str | None:
    """The default to keep for a rollback once ``new_default`` replaces ``current``."""
    if new_default != current:
        return current
    return before.previous_default if before else None


def replaced(
    before: Policy | None,
    current: str,
    default: str,
    canary: Canary | None,
    shadow: list[str],
    *,
    guard: Guard | None = None,
) -> Policy:
    """The policy as a ``PUT`` gives it (``current``: the default serving now)."""
    kept = _kept(before, current, default)
    return Policy(default, canary, tuple(shadow), kept, guard=guard)


def promoted(before: Policy | None, current: str, version: str) -> Policy:
    """``version`` becomes the default; a canary of it ends (it serves everything now)."""
    canary = before.canary if before else None
    if canary is not None and canary.version == version:
        canary = None
    shadow = tuple(v for v in (before.shadow if before else ()) if v != version)
    guard = before.guard if before else None
    return Policy(version, canary, shadow, _kept(before, current, version), guard=guard)


def rolled_back(before: Policy | None) -> Policy:
    """The default the last change of default replaced serves again; any canary ends."""
    if before is None or before.previous_default is None:
        raise DeploymentConflict(
            "there is no previous default version to roll back to "
            "(to end a canary, PUT the policy without it)"
        )
    return Policy(before.previous_default, None, before.shadow, None, guard=before.guard)


def canary_ended(before: Policy | None, version: str) -> Policy:
    """The canary of ``version`` ends (the guard's rollback); the default stays."""
    if before is None or before.canary is None or before.canary.version != version:
        raise DeploymentConflict(f"no canary of {version!r} to end: the policy changed meanwhile")
    return replace(before, canary=None)


class DeploymentStore:
    """The stored policy and its audit list."""

    def __init__(self, client: redis.Redis, keys: Keys, history_max: int = HISTORY_MAX) -> None:
        self.redis = client
        self.keys = keys
        self.history_max = history_max

    def read(self) -> Policy | None:
        raw = self.redis.get(self.keys.deployment)
        return Policy.from_dict(json.loads(raw)) if raw else None

    def change(
        self,
        action: str,
        who: dict[str, str],
        edit: Callable[[Policy | None], Policy],
        reason: str | None = None,
    ) -> Policy:
        """Apply ``edit`` to the stored policy atomically (retried if another change lands
        in between) and record the change (with ``reason`` when given: the guard's);
        ``edit`` may raise to refuse it."""
        key, history = self.keys.deployment, self.keys.deployment_history

        def apply(pipe: redis.client.Pipeline) -> Policy:
            raw = pipe.get(key)
            before = Policy.from_dict(json.loads(raw)) if raw else None
            now = time.time()
            after = replace(
                edit(before), revision=(before.revision if before else 0) + 1, updated_at=now
            )
            entry = {
                "at": now,
                "action": action,
                "who": who,
                "before": before.to_dict() if before else None,
                "after": after.to_dict(),
            }
            if reason is not None:
                entry["reason"] = reason
            pipe.multi()
            pipe.set(key, json.dumps(after.to_dict()))
            pipe.lpush(history, json.dumps(entry))
            pipe.ltrim(history, 0, self.history_max - 1)
            return after

        return self.redis.transaction(apply, key, value_from_callable=True)

    def history(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` audit entries, newest first."""
        return [
            json.loads(e) for e in self.redis.lrange(self.keys.deployment_history, 0, limit - 1)
        ]
