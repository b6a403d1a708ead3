"""Load generator, run as its own process: ``python -m bench.loadgen --url URL ...``.

N clients (gevent greenlets, one keep-alive HTTP connection each) loop:
``POST /api/v1/predictions?wait=S``; a ``202`` is followed by long-polls
``GET /api/v1/jobs/{id}?wait=S`` until the job is terminal. Turnaround is the
client-side time from sending the POST to holding the terminal job; a job that
does not end ``succeeded`` (or any non-200 answer, or a broken connection) is an
error. Loopback only; bounded by a job count and by time, whichever comes first;
a hard deadline stops every client. Prints one JSON object on stdout.

``--rate R`` issues jobs on a fixed schedule (R a second, open loop) and measures each
from its scheduled time; ``--submit-only`` only posts (a ``202`` is the job's end: a
tenant flooding the queue); ``--header 'Name: value'`` goes with every request (another
tenant's ``Authorization``); ``--api-key`` (default ``LIFEBOAT_API_KEY``) is sent as
``Authorization: Bearer``. The figures count the answers carrying a ``RateLimit`` header
(``rate_limited_responses``): the key's rate limit ran on them.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import os
import resource
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("bench.loadgen")

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
BODY_VARIANTS = 64  # distinct request bodies cycled through (fewer for big jobs)
HARD_DEADLINE_SLACK = 15.0  # seconds past the planned end after which clients are killed
# where a job's turnaround went, from its record's timestamps (one clock: loopback only):
# due → created (the web: accept, auth, limits, validation), created → started (the queue),
# started → finished (the worker), finished → answer read (wake-up, response, client)
STAGES = ("web_in", "queued", "worker", "web_out")


@dataclass
class Record:
    index: int
    start: float
    end: float
    ok: bool
    first_status: int
    error: str | None
    stages: tuple[float, ...] | None = None  # seconds in each of STAGES (a terminal job)


@dataclass
class Plan:
    """When to stop issuing jobs, and which jobs are warm-up."""

    jobs: int | None
    duration: float | None
    warmup_jobs: int
    warmup_seconds: float
    t_begin: float
    rate: float | None = None  # jobs a second on a fixed schedule (None: as fast as possible)
    issued: int = 0
    stopped_by: str = ""
    t_stop: float = 0.0
    records: list[Record] = field(default_factory=list)
    responses: int = 0
    rate_limited_responses: int = 0  # answers carrying a ``RateLimit`` header: a key's limit ran

    @property
    def t_measure(self) -> float:
        return self.t_begin + self.warmup_seconds

    def next_index(self, now: float) -> int | None:
        """The index of the next job to issue, or None once the plan is done (no yield here)."""
        if self.stopped_by:
            return None
        if self.duration is not None and now >= self.t_measure + self.duration:
            self._stop("time", self.t_measure + self.duration)
            return None
        measured = self.issued - self.warmup_jobs
        if self.jobs is not None and measured >= self.jobs and now >= self.t_measure:
            self._stop("count", now)
            return None
        self.issued += 1
        return self.issued - 1

    def scheduled(self, index: int) -> float | None:
        """When job ``index`` is due on the fixed schedule (None without one)."""
        return None if self.rate is None else self.t_begin + index / self.rate

    def _stop(self, why: str, at: float) -> None:
        self.stopped_by, self.t_stop = why, at

    def measured(self, rec: Record) -> bool:
        return rec.index >= self.warmup_jobs and rec.start >= self.t_measure


class Client:
    """One keep-alive connection issuing jobs one after the other."""

    def __init__(
        self, host: str, port: int, args: argparse.Namespace, bodies: list[bytes], counts: Plan
    ):
        self.host, self.port, self.args, self.bodies = host, port, args, bodies
        self.counts = counts  # where every answer is counted
        self.conn: Any = None
        self.post_path = (
            "/api/v1/predictions" if args.submit_only else f"/api/v1/predictions?wait={args.wait:g}"
        )
        self.headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
        if args.api_key:
            self.headers["Authorization"] = f"Bearer {args.api_key}"
        for header in args.header:
            name, _, value = header.partition(":")
            self.headers[name.strip()] = value.strip()

    def _request(self, method: str, path: str, body: bytes | None) -> tuple[int, dict]:
        import http.client

        if self.conn is None:
            self.conn = http.client.HTTPConnection(
                self.host, self.port, timeout=self.args.wait + 10
            )
        self.conn.request(method, path, body=body, headers=self.headers)
        resp = self.conn.getresponse()
        data = resp.read()
        self.counts.responses += 1
        self.counts.rate_limited_responses += resp.getheader("RateLimit") is not None
        try:
            payload = json.loads(data) if data else {}
        except ValueError:
            payload = {}
        return resp.status, payload

    def _close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def one_job(self, index: int, due: float | None = None) -> Record:
        import http.client

        body = self.bodies[index % len(self.bodies)]
        start = time.perf_counter() if due is None else due
        job_deadline = start + self.args.job_timeout
        first_status, error = 0, None
        try:
            status, job = self._request("POST", self.post_path, body)
            first_status = status
            if self.args.submit_only:
                error = None if status in (200, 202) else f"http_{status}"  # 200: done already
                return Record(index, start, time.perf_counter(), error is None, status, error)
            while status in (200, 202) and job.get("status") not in TERMINAL:
                if time.perf_counter() >= job_deadline:
                    error = "timeout"
                    break
                path = f"/api/v1/jobs/{job.get('id')}?wait={self.args.wait:g}"
                status, job = self._request("GET", path, None)
            if error is None:
                if status != 200:
                    error = f"http_{status}"
                elif job.get("status") != "succeeded":
                    error = f"job_{job.get('status')}"
        except (OSError, http.client.HTTPException) as exc:
            error = type(exc).__name__
            self._close()
        end = time.perf_counter()
        staged = stages(job, start, end) if error is None else None
        return Record(index, start, end, error is None, first_status, error, staged)

    def run(self, plan: Plan) -> None:
        try:
            while True:
                index = plan.next_index(time.perf_counter())
                if index is None:
                    return
                due = plan.scheduled(index)
                if due is not None:
                    time.sleep(max(0.0, due - time.perf_counter()))
                plan.records.append(self.one_job(index, due))
        finally:
            self._close()


def _epoch(stamp: Any) -> float | None:
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else None


def stages(job: dict, start: float, end: float) -> tuple[float, ...] | None:
    """Seconds of each of STAGES, the client's perf_counter times moved to the wall clock."""
    offset = time.time() - time.perf_counter()
    marks = [_epoch(job.get(k)) for k in ("created_at", "started_at", "finished_at")]
    if None in marks:
        return None
    points = [start + offset, *marks, end + offset]
    return tuple(b - a for a, b in itertools.pairwise(points))


def summarize(plan: Plan, args: argparse.Namespace, killed: int) -> dict[str, Any]:
    from bench.stats import percentiles_ms

    measured = [r for r in plan.records if plan.measured(r)]
    if plan.stopped_by == "time":
        t_end = plan.t_stop
    else:
        t_end = max((r.end for r in measured), default=plan.t_measure)
    t_start = min((r.start for r in measured), default=plan.t_measure)
    window = max(t_end - t_start, 1e-9)
    done_in_window = [r for r in measured if r.ok and r.end <= t_end]
    errors: dict[str, int] = {}
    for r in measured:
        if r.error:
            errors[r.error] = errors.get(r.error, 0) + 1
    first: dict[str, int] = {}
    for r in measured:
        first[str(r.first_status)] = first.get(str(r.first_status), 0) + 1
    staged = [r.stages for r in measured if r.stages is not None]
    turnarounds = [r.end - r.start for r in measured if r.ok]
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "clients": args.clients,
        "instances_per_job": args.instances,
        "count": len(measured),
        "succeeded": sum(r.ok for r in measured),
        "errors": sum(1 for r in measured if not r.ok),
        "error_kinds": errors,
        "first_status": first,
        "warmup_jobs": sum(1 for r in plan.records if not plan.measured(r)),
        "window_s": round(window, 3),
        "stopped_by": plan.stopped_by or "deadline",
        "killed_clients": killed,
        "responses": plan.responses,
        "rate_limited_responses": plan.rate_limited_responses,
        "jobs_per_s": round(len(done_in_window) / window, 2),
        **percentiles_ms(turnarounds),
        "stages": stage_percentiles(staged),
        "own_cpu_s": round(own.ru_utime + own.ru_stime, 2),  # this load generator's CPU
        # every measured job's turnaround and stages, in seconds: runs in slices pool them
        **(
            {"samples": {"turnaround_s": turnarounds, "stages_s": [list(s) for s in staged]}}
            if args.samples
            else {}
        ),
    }


def stage_percentiles(staged: Sequence[Sequence[float]]) -> dict[str, Any] | None:
    """Percentiles in ms (no max) of each of STAGES over jobs' seconds in them; None
    without any job's stages."""
    from bench.stats import percentiles_ms

    if not staged:
        return None
    return {
        name: {k: v for k, v in percentiles_ms([s[i] for s in staged]).items() if k != "max_ms"}
        for i, name in enumerate(STAGES)
    }


def add_load_arguments(p: argparse.ArgumentParser, wait_help: str) -> None:
    """The arguments every load generator of jobs takes (this one and ``bench.turnaround``)."""
    p.add_argument("--url", required=True, help="base URL of the web, loopback only")
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--jobs", type=int, default=None, help="measured jobs to issue at most")
    p.add_argument("--duration", type=float, default=None, help="measured seconds at most")
    p.add_argument("--warmup-jobs", type=int, default=0)
    p.add_argument("--warmup-seconds", type=float, default=0.0)
    p.add_argument("--instances", type=int, default=1, help="instances per job")
    p.add_argument("--wait", type=float, default=10.0, help=wait_help)
    p.add_argument("--job-timeout", type=float, default=30.0, help="give up on a job after this")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--samples", action="store_true", help="also print every measured job's turnaround"
    )


def checked_load_arguments(
    p: argparse.ArgumentParser, argv: list[str] | None
) -> argparse.Namespace:
    """The parsed arguments, refused unless the load is bounded and the clients sane."""
    args = p.parse_args(argv)
    if args.jobs is None and args.duration is None:
        p.error("give --jobs or --duration (or both): the load must be bounded")
    if not 1 <= args.clients <= 1000:
        p.error("--clients must be between 1 and 1000")
    return args


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__.splitlines()[0])
    add_load_arguments(p, "?wait= seconds of POST and GET")
    p.add_argument("--rate", type=float, default=None, help="jobs a second, on a fixed schedule")
    p.add_argument("--submit-only", action="store_true", help="only post; a 202 ends a job")
    p.add_argument(
        "--header", action="append", default=[], help="'Name: value' sent with every request"
    )
    p.add_argument("--api-key", default=os.environ.get("LIFEBOAT_API_KEY", ""))
    return checked_load_arguments(p, argv)


def main(argv: list[str] | None = None) -> int:
    from gevent import monkey

    monkey.patch_all()
    import gevent

    from bench.instances import request_bodies

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    args = parse_args(argv)
    url = urlsplit(args.url)
    if url.scheme != "http" or url.hostname not in LOOPBACK_HOSTS or url.port is None:
        log.error("refusing %s: loopback http://host:port only", args.url)
        return 2
    variants = max(1, min(BODY_VARIANTS, 64_000 // args.instances))
    bodies = request_bodies(args.instances, variants, seed=args.seed)
    plan = Plan(
        jobs=args.jobs,
        duration=args.duration,
        warmup_jobs=args.warmup_jobs,
        warmup_seconds=args.warmup_seconds,
        t_begin=time.perf_counter(),
        rate=args.rate,
    )
    planned = args.warmup_seconds + (args.duration or 0.0)
    if args.jobs is not None:
        # a count-bound run gets at most one job timeout per job of its longest client's share
        per_client = (args.jobs + args.warmup_jobs) / args.clients + 1
        planned = max(planned, min(per_client * args.job_timeout, 600.0))
    hard_deadline = planned + args.job_timeout + HARD_DEADLINE_SLACK
    greenlets = [
        gevent.spawn(Client(url.hostname, url.port, args, bodies, plan).run, plan)
        for _ in range(args.clients)
    ]
    gevent.joinall(greenlets, timeout=hard_deadline)
    alive = [g for g in greenlets if not g.dead]
    if alive:
        log.warning("hard deadline: killing %d client(s)", len(alive))
        gevent.killall(alive, timeout=5)
    json.dump(summarize(plan, args, len(alive)), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
