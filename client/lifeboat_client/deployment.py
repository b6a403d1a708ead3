"""The traffic policy in the SDK: its calls, its typed answers and the ``Client`` methods
(admin): ``deployment``, ``set_deployment``, ``promote``, ``rollback``,
``deployment_history``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lifeboat_client.models import moment
from lifeboat_client.transport import Call


@dataclass(frozen=True)
class Canary:
    version: str
    share: float  # the fraction of requests naming no version that it serves


@dataclass(frozen=True)
class Deployment:
    """The traffic policy as ``GET /api/v1/deployment`` shows it."""

    default: str
    canary: Canary | None
    shadow: list[str]  # each scores every prediction job again, logged as shadow
    previous_default: str | None  # what a rollback makes the default again
    revision: int
    updated_at: datetime | None
    raw: dict[str, Any] = field(repr=False, compare=False)
    # the canary's automatic rollback: max_error_rate, min_accuracy, min_predictions,
    # min_labelled (None: none)
    guard: dict[str, Any] | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Deployment:
        c = d.get("canary")
        return cls(
            default=d["default"],
            canary=Canary(c["version"], float(c["share"])) if c else None,
            shadow=list(d.get("shadow") or []),
            previous_default=d.get("previous_default"),
            revision=int(d.get("revision") or 0),
            updated_at=moment(d.get("updated_at")),
            raw=d,
            guard=d.get("guard"),
        )


@dataclass(frozen=True)
class DeploymentChange:
    """One entry of the policy's audit list."""

    at: datetime | None
    action: str  # set, promote, rollback or guard (the canary's automatic rollback)
    who: dict[str, str]  # key_id and tenant of the key that made it (key_id "guard")
    before: Deployment | None
    after: Deployment
    raw: dict[str, Any] = field(repr=False, compare=False)
    reason: str | None = None  # why the guard ended the canary

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DeploymentChange:
        return cls(
            at=moment(d.get("at")),
            action=d["action"],
            who=dict(d.get("who") or {}),
            before=Deployment.from_json(d["before"]) if d.get("before") else None,
            after=Deployment.from_json(d["after"]),
            raw=d,
            reason=d.get("reason"),
        )


# --- calls ------------------------------------------------------------------------------
def get_deployment() -> Call:
    return Call("GET", "deployment")


def put_deployment(
    default: str,
    canary: tuple[str, float] | None,
    shadow: Iterable[str],
    guard: dict[str, Any] | None = None,
) -> Call:
    body: dict[str, Any] = {"default": default, "shadow": list(shadow), "guard": guard}
    body["canary"] = {"version": canary[0], "share": canary[1]} if canary else None
    return Call("PUT", "deployment", json=body)


def promote(version: str) -> Call:
    return Call("POST", f"models/{version}/promote")  # twice is once: the same default


def rollback() -> Call:
    # a retry after a rollback that went through would roll back again (or answer 409)
    return Call("POST", "deployment/rollback", replayable=False)


def history(limit: int | None) -> Call:
    return Call("GET", "deployment/history", params={"limit": limit})


class DeploymentMethods:
    """The ``Client`` methods of the traffic policy (they send through ``_json``)."""

    def _json(self, call: Call) -> Any:  # pragma: no cover - the Client's
        raise NotImplementedError

    def deployment(self) -> Deployment:
        """The traffic policy serving now."""
        return Deployment.from_json(self._json(get_deployment()))

    def set_deployment(
        self,
        default: str,
        *,
        canary: tuple[str, float] | None = None,
        shadow: Iterable[str] = (),
        guard: dict[str, Any] | None = None,
    ) -> Deployment:
        """Replace the policy: ``canary=("v2", 0.1)`` sends 10 % of requests naming no
        version to v2 (by a stable hash of their first instance's id, when it has one);
        ``shadow=["v3"]`` has v3 score every prediction job again, off the response path;
        ``guard={"max_error_rate": 0.05, "min_accuracy": 0.7}`` ends the canary
        automatically past either threshold."""
        call = put_deployment(default, canary, shadow, guard)
        return Deployment.from_json(self._json(call))

    def promote(self, version: str) -> Deployment:
        """Make ``version`` the default (the old one is kept for :meth:`rollback`)."""
        return Deployment.from_json(self._json(promote(version)))

    def rollback(self) -> Deployment:
        """Make the previous default the default again and end any canary."""
        return Deployment.from_json(self._json(rollback()))

    def deployment_history(self, limit: int | None = None) -> list[DeploymentChange]:
        """The policy's changes, newest first."""
        found = self._json(history(limit))["history"]
        return [DeploymentChange.from_json(e) for e in found]


class AsyncDeploymentMethods:
    """The ``AsyncClient`` twins of :class:`DeploymentMethods` (the same calls, awaited)."""

    async def _json(self, call: Call) -> Any:  # pragma: no cover - the AsyncClient's
        raise NotImplementedError

    async def deployment(self) -> Deployment:
        """The traffic policy serving now."""
        return Deployment.from_json(await self._json(get_deployment()))

    async def set_deployment(
        self,
        default: str,
        *,
        canary: tuple[str, float] | None = None,
        shadow: Iterable[str] = (),
        guard: dict[str, Any] | None = None,
    ) -> Deployment:
        """Replace the policy (see :meth:`DeploymentMethods.set_deployment`)."""
        call = put_deployment(default, canary, shadow, guard)
        return Deployment.from_json(await self._json(call))

    async def promote(self, version: str) -> Deployment:
        """Make ``version`` the default (the old one is kept for :meth:`rollback`)."""
        return Deployment.from_json(await self._json(promote(version)))

    async def rollback(self) -> Deployment:
        """Make the previous default the default again and end any canary."""
        return Deployment.from_json(await self._json(rollback()))

    async def deployment_history(self, limit: int | None = None) -> list[DeploymentChange]:
        """The policy's changes, newest first."""
        found = (await self._json(history(limit)))["history"]
        return [DeploymentChange.from_json(e) for e in found]
