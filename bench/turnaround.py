"""The asyncio load generator of both client patterns: ``python -m bench.turnaround ...``.

N clients (asyncio tasks on one event loop, one keep-alive connection each) loop over
single jobs in one of the two patterns a client of the API uses:

- ``wait``: ``POST /api/v1/predictions?wait=S``, then ``GET /api/v1/jobs/{id}?wait=S``
  while the answer is not terminal (one request per job when the job ends in time);
- ``poll``: ``POST /api/v1/predictions`` (answered ``202`` at once), then
  ``GET /api/v1/jobs/{id}?wait=S`` until the job is terminal: the design's main use,
  "POST the job, then poll its result".

Turnaround is the client's time from sending the POST to holding the terminal job; a
job that does not end ``succeeded``, any other answer than 200/202, or a broken
connection is an error. The plan (a job count and/or a duration, warm-up, figures) is
``bench.loadgen``'s, so both load generators report the same fields. Loopback only.
Prints one JSON object on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
from urllib.parse import urlsplit

from bench.aio import Connection, HTTPError, run_and_print
from bench.instances import request_bodies
from bench.loadgen import (
    BODY_VARIANTS,
    HARD_DEADLINE_SLACK,
    LOOPBACK_HOSTS,
    TERMINAL,
    Plan,
    Record,
    add_load_arguments,
    checked_load_arguments,
    stages,
    summarize,
)

log = logging.getLogger("bench.turnaround")

PATTERNS = ("wait", "poll")


class Client:
    """One connection issuing single jobs one after the other."""

    def __init__(self, conn: Connection, args: argparse.Namespace, bodies: list[bytes]) -> None:
        self.conn, self.args, self.bodies = conn, args, bodies
        wait = f"{args.wait:g}"
        self.post_path = (
            "/api/v1/predictions" if args.pattern == "poll" else f"/api/v1/predictions?wait={wait}"
        )
        self.poll_query = f"?wait={wait}"

    async def _call(
        self, plan: Plan, method: str, path: str, body: bytes | None = None
    ) -> tuple[int, dict]:
        status, headers, data = await self.conn.request(method, path, body, "application/json")
        plan.responses += 1
        plan.rate_limited_responses += b"ratelimit" in headers
        try:
            return status, json.loads(data) if data else {}
        except ValueError:
            return status, {}

    async def one_job(self, plan: Plan, index: int) -> Record:
        body = self.bodies[index % len(self.bodies)]
        start = time.perf_counter()
        deadline = start + self.args.job_timeout
        first, error, job = 0, None, {}
        try:
            status, job = await self._call(plan, "POST", self.post_path, body)
            first = status
            while status in (200, 202) and job.get("status") not in TERMINAL:
                if time.perf_counter() >= deadline:
                    error = "timeout"
                    break
                path = f"/api/v1/jobs/{job.get('id')}{self.poll_query}"
                status, job = await self._call(plan, "GET", path)
            if error is None:
                if status != 200:
                    error = f"http_{status}"
                elif job.get("status") != "succeeded":
                    error = f"job_{job.get('status')}"
        except (OSError, HTTPError, TimeoutError) as exc:
            error = type(exc).__name__
            self.conn.close()
        end = time.perf_counter()
        staged = stages(job, start, end) if error is None else None
        return Record(index, start, end, error is None, first, error, staged)

    async def run(self, plan: Plan) -> None:
        try:
            while (index := plan.next_index(time.perf_counter())) is not None:
                plan.records.append(await self.one_job(plan, index))
        finally:
            self.conn.close()


async def drive(args: argparse.Namespace, host: str, port: int) -> dict:
    variants = max(1, min(BODY_VARIANTS, 64_000 // args.instances))
    bodies = request_bodies(args.instances, variants, seed=args.seed)
    headers = {"Authorization": f"Bearer {args.api_key}"} if args.api_key else {}
    plan = Plan(
        jobs=args.jobs,
        duration=args.duration,
        warmup_jobs=args.warmup_jobs,
        warmup_seconds=args.warmup_seconds,
        t_begin=time.perf_counter(),
    )
    planned = args.warmup_seconds + (args.duration or 0.0)
    if args.jobs is not None:
        per_client = (args.jobs + args.warmup_jobs) / args.clients + 1
        planned = max(planned, min(per_client * args.job_timeout, 600.0))

    def conn() -> Connection:
        return Connection(host, port, headers, args.wait + 10)

    clients = [
        asyncio.ensure_future(Client(conn(), args, bodies).run(plan)) for _ in range(args.clients)
    ]
    _, alive = await asyncio.wait(clients, timeout=planned + args.job_timeout + HARD_DEADLINE_SLACK)
    if alive:
        log.warning("hard deadline: cancelling %d client(s)", len(alive))
        for task in alive:
            task.cancel()
        await asyncio.wait(alive, timeout=5)
    figures = summarize(plan, args, len(alive))
    figures["pattern"] = args.pattern
    return figures


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.turnaround", description=__doc__.splitlines()[0]
    )
    add_load_arguments(p, "?wait= seconds of the requests")
    p.add_argument("--pattern", choices=PATTERNS, default="poll")
    p.add_argument("--api-key", default=os.environ.get("LIFEBOAT_API_KEY", ""))
    return checked_load_arguments(p, argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    url = urlsplit(args.url)
    if url.scheme != "http" or url.hostname not in LOOPBACK_HOSTS or url.port is None:
        log.error("refusing %s: loopback http://host:port only", args.url)
        return 2
    return run_and_print(drive(args, url.hostname, url.port))


if __name__ == "__main__":
    sys.exit(main())
