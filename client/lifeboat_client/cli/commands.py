"""The ``lifeboat`` subcommands but ``batch``: predictions, jobs, reports, feedback, models."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import webbrowser
from pathlib import Path

import click

from lifeboat_client.cli import inputs, output
from lifeboat_client.cli.app import State, cli, command
from lifeboat_client.errors import JobFailed

FEEDBACK_CHUNK = 1000  # labels sent in one request
REPORT_WAIT_SECONDS = 600.0  # how long `lifeboat report` waits for its job by default


@command(cli, "predict")
@click.argument("source", metavar="FILE")
@click.option("--format", "fmt", type=click.Choice(inputs.FORMATS), help="default: from the name")
@click.option("--model-version", help="model version (default: the server's default)")
@click.option("--wait", type=float, default=60.0, show_default=True, help="seconds to wait")
def predict(
    state: State, source: str, fmt: str | None, model_version: str | None, wait: float
) -> None:
    """Predict the instances in FILE (JSON array, JSON lines or CSV rows; - for stdin)."""
    instances = inputs.instances(source, fmt)
    with state.client() as lb:
        job = lb.predict(instances, wait=wait, model_version=model_version)
    if state.as_json:
        output.emit_json(job.raw)
    else:
        output.predictions(job)


@cli.group()
def jobs() -> None:
    """List, read, wait for and cancel jobs."""


@command(jobs, "list")
@click.option("--type", "job_type", help="prediction, batch, drift_report, performance_report")
@click.option("--status", help="queued, running, succeeded, failed, cancelled")
@click.option("--limit", type=click.IntRange(1, 200), help="jobs per page (server default 50)")
@click.option("--tenant", help="another tenant's jobs (admin)")
@click.option("--all", "every", is_flag=True, help="follow the server's pages to the end")
def jobs_list(
    state: State,
    *,
    job_type: str | None,
    status: str | None,
    limit: int | None,
    tenant: str | None,
    every: bool,
) -> None:
    """The tenant's recent jobs, newest first."""
    filters = {"type": job_type, "status": status, "limit": limit, "tenant": tenant}
    with state.client() as lb:
        found = list(lb.iter_jobs(**filters)) if every else lb.jobs(**filters).jobs
    if state.as_json:
        output.emit_json([j.raw for j in found])
    else:
        output.jobs(found)


@command(jobs, "get")
@click.argument("job_id")
@click.option("--wait", type=click.FloatRange(0, 20), help="long-poll up to this many seconds")
def jobs_get(state: State, job_id: str, wait: float | None) -> None:
    """One job."""
    with state.client() as lb:
        job = lb.job(job_id, wait=wait)
    output.emit_json(job.raw) if state.as_json else output.job(job)


@command(jobs, "wait")
@click.argument("job_id")
@click.option("--timeout", type=float, help="give up after this many seconds (exit 1)")
def jobs_wait(state: State, job_id: str, timeout: float | None) -> None:
    """Wait for a job to finish; exit 3 if it failed or was cancelled."""
    with state.client() as lb:
        job = lb.wait(job_id, timeout)
    output.emit_json(job.raw) if state.as_json else output.job(job)
    if not job.succeeded:
        raise JobFailed(job)


@command(jobs, "cancel")
@click.argument("job_id")
def jobs_cancel(state: State, job_id: str) -> None:
    """Cancel a queued or running job."""
    with state.client() as lb:
        job = lb.cancel(job_id)
    output.emit_json(job.raw) if state.as_json else output.job(job)


@command(cli, "report")
@click.argument("report_type", type=click.Choice(["drift", "performance"]))
@click.option("--last", type=int, help="over the last N logged predictions")
@click.option("--since", help="over predictions since this RFC 3339 time")
@click.option("--until", help="... and until this one (default: now)")
@click.option("--file", "csv_file", type=click.Path(path_type=Path), help="CSV of current data")
@click.option("--model-version", help="model version (default: the server's default)")
@click.option("--wait", type=float, default=REPORT_WAIT_SECONDS, show_default=True)
@click.option("-o", "--output", "html_out", type=click.Path(path_type=Path), help="save the HTML")
@click.option("--open", "open_it", is_flag=True, help="open the HTML report in a browser")
def report(
    state: State,
    *,
    report_type: str,
    last: int | None,
    since: str | None,
    until: str | None,
    csv_file: Path | None,
    model_version: str | None,
    wait: float,
    html_out: Path | None,
    open_it: bool,
) -> None:
    """Build a drift or performance report and wait for it (exit 3 if it fails)."""
    if sum(x is not None for x in (last, since, csv_file)) != 1:
        raise click.UsageError("give one of --last, --since or --file")
    if csv_file is not None:
        inputs.check_readable(csv_file)
    if html_out is not None:
        inputs.check_writable(html_out)
    window = last if last is not None else ((since, until) if since else None)
    with state.client() as lb:
        job = lb.report(report_type, window, file=csv_file, model_version=model_version, wait=wait)
        if open_it and html_out is None:
            html_out = Path(tempfile.gettempdir()) / f"lifeboat-report-{job.id}.html"
        if html_out is not None:
            lb.report_html(job.id, to=html_out)
    output.emit_json(job.raw) if state.as_json else output.job(job)
    if html_out is not None:
        print(f"report saved to {html_out}", file=sys.stderr)
    if open_it and html_out is not None and not webbrowser.open(html_out.resolve().as_uri()):
        print(f"no browser could be started: open {html_out}", file=sys.stderr)


@command(cli, "feedback")
@click.argument("source", metavar="FILE")
def feedback(state: State, source: str) -> None:
    """Send ground truth: CSV (prediction_id, actual), JSON or JSON lines."""
    items = inputs.feedback_items(source)
    totals = {"received": 0, "accepted": 0, "duplicate": 0, "unknown": 0}
    with state.client() as lb:
        for start in range(0, len(items), FEEDBACK_CHUNK):
            answer = dataclasses.asdict(lb.feedback(items[start : start + FEEDBACK_CHUNK]))
            for k in totals:
                totals[k] += answer[k]
    if state.as_json:
        output.emit_json(totals)
    else:
        print(", ".join(f"{k} {v}" for k, v in totals.items()))


@command(cli, "models")
def models(state: State) -> None:
    """Installed model versions."""
    with state.client() as lb:
        found = lb.models()
    output.emit_json([m.raw for m in found]) if state.as_json else output.models(found)


@command(cli, "monitoring")
@click.argument("version")
def monitoring(state: State, version: str) -> None:
    """What the workers last measured of a model version (drift check, accuracy)."""
    with state.client() as lb:
        found = lb.monitoring(version)
    if state.as_json:
        output.emit_json(found.raw)
    else:
        output.console.print_json(data=found.raw)


@cli.group()
def keys() -> None:
    """API keys (an admin key)."""


@command(keys, "list")
def keys_list(state: State) -> None:
    with state.client() as lb:
        found = lb.keys()
    output.emit_json([_key(k) for k in found]) if state.as_json else output.keys(found)


@command(keys, "create")
@click.option("--name", required=True)
@click.option("--tenant", required=True)
@click.option("--scope", "scopes", multiple=True, required=True, help="repeat for each scope")
@click.option("--expires-at", help="RFC 3339 time")
@click.option("--rate-limit", type=float, help="requests a second")
def keys_create(
    state: State,
    *,
    name: str,
    tenant: str,
    scopes: tuple[str, ...],
    expires_at: str | None,
    rate_limit: float | None,
) -> None:
    """Make a key; its token is printed once."""
    with state.client() as lb:
        key = lb.create_key(
            name, tenant, scopes, expires_at=expires_at, rate_limit_per_second=rate_limit
        )
    if state.as_json:
        output.emit_json({**_key(key), "token": key.token})
    else:
        output.keys([key])
        print(key.token)


@command(keys, "revoke")
@click.argument("key_id")
def keys_revoke(state: State, key_id: str) -> None:
    with state.client() as lb:
        key = lb.revoke_key(key_id)
    output.emit_json(_key(key)) if state.as_json else output.keys([key])


def _key(key: object) -> dict[str, object]:
    d = dataclasses.asdict(key)  # type: ignore[call-overload]
    d.pop("token", None)
    return d
