"""``lifeboat deployment show|set|promote|rollback|history``: the traffic policy (admin)."""

from __future__ import annotations

import click

from lifeboat_client.cli import output
from lifeboat_client.cli.app import State, cli, command
from lifeboat_client.deployment import Deployment, DeploymentChange


@cli.group()
def deployment() -> None:
    """The traffic policy: default version, canary, rollback (an admin key)."""


def _show(state: State, policy: Deployment) -> None:
    if state.as_json:
        output.emit_json(policy.raw)
        return
    canary = f"{policy.canary.version} ({policy.canary.share:.1%})" if policy.canary else None
    rows = [
        ("default", policy.default),
        ("canary", canary),
        ("shadow", ", ".join(policy.shadow) or None),
        ("guard", _guard_text(policy.guard)),
        ("previous default (rollback)", policy.previous_default),
        ("revision", policy.revision),
        ("updated at", policy.updated_at),
    ]
    output.table("deployment", ["", "value"], rows)


def _guard_text(guard: dict | None) -> str | None:
    if not guard:
        return None
    return ", ".join(f"{k} {v}" for k, v in guard.items() if v is not None)


@command(deployment, "show")
def deployment_show(state: State) -> None:
    """The policy serving now."""
    with state.client() as lb:
        _show(state, lb.deployment())


@command(deployment, "set")
@click.option("--default", "default", help="the default version (default: the current one)")
@click.option("--canary", help="a version serving --share of requests that name none")
@click.option("--share", type=click.FloatRange(0, 1), default=0.1, show_default=True)
@click.option("--shadow", multiple=True, help="a shadow version (repeat)")
@click.option(
    "--max-error-rate",
    type=click.FloatRange(0, 1),
    help="guard: end the canary when more of its predictions fail than this share",
)
@click.option(
    "--min-accuracy",
    type=click.FloatRange(0, 1),
    help="guard: end the canary when its accuracy measured on feedback is below this",
)
@click.option("--min-predictions", type=click.IntRange(1), help="guard: before errors count")
@click.option("--min-labelled", type=click.IntRange(1), help="guard: before accuracy counts")
def deployment_set(  # noqa: PLR0917 — one parameter per option
    state: State,
    default: str | None,
    canary: str | None,
    share: float,
    shadow: tuple[str, ...],
    max_error_rate: float | None,
    min_accuracy: float | None,
    min_predictions: int | None,
    min_labelled: int | None,
) -> None:
    """Replace the policy (no --canary: no canary; no guard option: no guard)."""
    given = {
        "max_error_rate": max_error_rate,
        "min_accuracy": min_accuracy,
        "min_predictions": min_predictions,
        "min_labelled": min_labelled,
    }
    guard = {k: v for k, v in given.items() if v is not None} or None
    with state.client() as lb:
        default = default or lb.deployment().default
        policy = lb.set_deployment(
            default, canary=(canary, share) if canary else None, shadow=shadow, guard=guard
        )
    _show(state, policy)


@command(deployment, "promote")
@click.argument("version")
def deployment_promote(state: State, version: str) -> None:
    """Make VERSION the default (the old default is kept for a rollback)."""
    with state.client() as lb:
        _show(state, lb.promote(version))


@command(deployment, "rollback")
def deployment_rollback(state: State) -> None:
    """Make the previous default the default again, and end any canary."""
    with state.client() as lb:
        _show(state, lb.rollback())


@command(deployment, "history")
@click.option("--limit", type=click.IntRange(1, 1000), help="changes (server default 50)")
def deployment_history(state: State, limit: int | None) -> None:
    """Every change of the policy, newest first: who, when, before and after."""
    with state.client() as lb:
        changes = lb.deployment_history(limit)
    if state.as_json:
        output.emit_json([c.raw for c in changes])
        return
    output.table(
        "deployment history",
        ["at", "action", "who", "default before", "default after", "canary after"],
        (_row(c) for c in changes),
    )


def _row(c: DeploymentChange) -> list[object]:
    canary = c.after.canary
    return [
        c.at,
        c.action,
        f"{c.who.get('key_id', '')} ({c.who.get('tenant', '')})",
        c.before.default if c.before else None,
        c.after.default,
        f"{canary.version} ({canary.share:.1%})" if canary else None,
    ]
