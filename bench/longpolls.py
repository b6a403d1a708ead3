"""Thousands of long-polls at once: ``python -m bench.longpolls --url URL --web-pid PID ...``.

Run against a stack whose worker is stopped, so no job finishes: it submits ``--waiters``
prediction jobs (``POST`` without ``wait``), then opens one connection per job and sends
``GET /api/v1/jobs/{id}?wait=W`` on each. Once every long-poll is in, for ``--window``
seconds it samples the web's processes (the gunicorn arbiter given by ``--web-pid`` and
its workers: RSS summed, CPU used) while a probe client sends other requests at a fixed
rate (``GET /api/v1/jobs/{id}`` without wait and ``POST /api/v1/predictions`` without
wait, alternately) and times them. The long-polls then end at their ``wait`` (``200``, the
job still queued); any other answer is an error. Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from urllib.parse import urlsplit

import psutil

from bench.aio import Connection, HTTPError, run_and_print
from bench.instances import request_bodies
from bench.stats import percentiles_ms

SUBMITTERS = 32  # connections submitting the jobs to wait for
SETTLE_SECONDS = 6.0  # after the last long-poll is sent (the web takes them in), before the window
SAMPLE_SECONDS = 0.25  # between two samples of the web's memory
PREDICTIONS = "/api/v1/predictions"


def _web_processes(pid: int) -> list[psutil.Process]:
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def _cpu_seconds(procs: list[psutil.Process]) -> float:
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def _rss_mb(procs: list[psutil.Process]) -> float:
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total / 2**20


async def _submit(conns: list[Connection], bodies: list[bytes], n: int) -> list[str]:
    ids: list[str] = []
    queue = list(range(n))

    async def one(conn: Connection) -> None:
        while queue:
            i = queue.pop()
            status, _, data = await conn.request(
                "POST", PREDICTIONS, bodies[i % len(bodies)], "application/json"
            )
            if status != 202:
                raise RuntimeError(f"submitting a job answered {status}: {data[:300]!r}")
            ids.append(json.loads(data)["id"])

    await asyncio.gather(*(one(c) for c in conns))
    return ids


async def _probe(
    conn: Connection, ids: list[str], body: bytes, rate: float, until: float
) -> tuple[list[float], dict[str, int]]:
    """Other requests at ``rate`` a second until ``until``: their times, and bad answers."""
    times: list[float] = []
    errors: dict[str, int] = {}
    i = 0
    due = time.perf_counter()
    while due < until:
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        try:
            if i % 2:
                status, _, _ = await conn.request("POST", PREDICTIONS, body, "application/json")
                expected = 202  # a job accepted
            else:
                status, _, _ = await conn.request("GET", f"/api/v1/jobs/{ids[i % len(ids)]}")
                expected = 200  # a job read (still queued)
            if status != expected:
                errors[f"http_{status}"] = errors.get(f"http_{status}", 0) + 1
        except (OSError, HTTPError, TimeoutError) as exc:
            errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
            conn.close()
        # measured from when it was due: a request held up behind others counts its wait
        times.append(time.perf_counter() - due)
        i += 1
        due += 1 / rate
    return times, errors


async def drive(args: argparse.Namespace, host: str, port: int) -> dict:
    headers = {"Authorization": f"Bearer {args.api_key}"}
    bodies = request_bodies(1, 64)
    submitters = [Connection(host, port, headers, 60) for _ in range(SUBMITTERS)]
    t0 = time.perf_counter()
    ids = await _submit(submitters, bodies, args.waiters)
    for c in submitters:
        c.close()
    submitted_s = time.perf_counter() - t0
    procs = _web_processes(args.web_pid)
    rss_before = _rss_mb(procs)
    answers: dict[str, int] = {}

    async def wait_on(job_id: str) -> None:
        conn = Connection(host, port, headers, args.wait + 15)
        try:
            status, _, data = await conn.request("GET", f"/api/v1/jobs/{job_id}?wait={args.wait:g}")
            state = json.loads(data).get("status") if status in (200, 202) else None
            kind = f"{status}_{state}"
        except (OSError, HTTPError, TimeoutError) as exc:
            kind = type(exc).__name__
        finally:
            conn.close()
        answers[kind] = answers.get(kind, 0) + 1

    t_sent = time.perf_counter()
    waiters = [asyncio.ensure_future(wait_on(j)) for j in ids]
    await asyncio.sleep(SETTLE_SECONDS)
    cpu0, w0 = _cpu_seconds(procs), time.perf_counter()
    until = w0 + args.window
    probe = asyncio.ensure_future(
        _probe(Connection(host, port, headers, 30), ids, bodies[0], args.probe_rate, until)
    )
    peak = rss_before
    while time.perf_counter() < until:
        peak = max(peak, _rss_mb(procs))
        await asyncio.sleep(SAMPLE_SECONDS)
    times, probe_errors = await probe
    cpu1, w1 = _cpu_seconds(procs), time.perf_counter()
    rss_during = _rss_mb(procs)
    await asyncio.gather(*waiters)
    held_s = time.perf_counter() - t_sent
    expected = "200_queued"  # no worker: every long-poll ends at its wait, the job queued
    return {
        "waiters": args.waiters,
        "submitted_s": round(submitted_s, 2),
        "web_processes": len(procs),
        "web_rss_mb_before": round(rss_before, 1),
        "web_rss_mb_waiting": round(rss_during, 1),
        "web_rss_mb_peak": round(peak, 1),
        "web_cpu_cores_waiting": round((cpu1 - cpu0) / (w1 - w0), 3),
        "probe_rate": args.probe_rate,
        "probe_requests": len(times),
        "probe_errors": sum(probe_errors.values()),
        "probe_error_kinds": probe_errors,
        **{f"probe_{k}": v for k, v in percentiles_ms(times).items()},
        "long_poll_answers": answers,
        "long_poll_errors": sum(v for k, v in answers.items() if k != expected),
        "long_polls_held_s": round(held_s, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.longpolls", description=__doc__.splitlines()[0]
    )
    p.add_argument("--url", required=True)
    p.add_argument("--web-pid", type=int, required=True, help="the gunicorn arbiter's pid")
    p.add_argument("--waiters", type=int, default=2000)
    p.add_argument("--wait", type=float, default=25.0, help="?wait= of each long-poll")
    p.add_argument("--window", type=float, default=10.0, help="seconds measured while they wait")
    p.add_argument("--probe-rate", type=float, default=50.0, help="other requests a second")
    p.add_argument("--api-key", default=os.environ.get("LIFEBOAT_API_KEY", ""))
    args = p.parse_args(argv)
    if args.wait < SETTLE_SECONDS + args.window + 5:
        p.error("--wait must outlast the settling time and the window by 5 s")
    url = urlsplit(args.url)
    if url.hostname not in ("127.0.0.1", "localhost", "::1") or url.port is None:
        p.error("loopback http://host:port only")
    return run_and_print(drive(args, url.hostname, url.port))


if __name__ == "__main__":
    sys.exit(main())
