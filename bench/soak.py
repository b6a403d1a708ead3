"""Soak: ``python -m bench.soak [--minutes 10] [--rate 200]``.

A private stack as deployed (Redis, the scoring worker, the reports worker,
beat, the web; :mod:`bench.stack`) under a steady load from its own process
(:mod:`bench.soak_load`): single-row prediction jobs at ``--rate`` a second,
a 20-row batch every 5 s and a drift report every 30 s, all with an API key.

Every ``SAMPLE_SECONDS`` it samples Redis ``used_memory`` and the RSS of every
process (summed per role: each role's process group, pool children and gunicorn
workers included). Every accepted job is followed from the moment its ``202``
comes until its record is terminal; one whose record is gone before it was seen
terminal, or that is not terminal ``DRAIN_SECONDS`` after the load ends, is lost.

Retention is scaled down (job TTLs 60 s, prediction log, feedback index and
monitoring window 10,000 predictions) so Redis reaches its steady state within
the warm-up: with production retention (24 h of jobs) Redis grows for a day by
design, which a soak of minutes cannot tell from a leak. Growth is the last
sample over the first one after warm-up (``max(90 s, 20 %)`` of the run).

It prints the series, growth per series (target ≤ 5 %), jobs lost (target 0)
and the prediction turnaround p99 (job record: finished - created; the bench
target is 250 ms), and writes them to ``bench/results/soak.json``. Nothing
asserts; the exit status is 0 whatever the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from bench.stack import START_TIMEOUT, Stack, running_stack
from bench.stats import percentiles_ms
from core.keys import Keys
from devsupport import (
    LOOPBACK,
    PY,
    ROOT,
    celery_command,
    free_port,
    wait_for_worker,
    worker_command,
)

log = logging.getLogger("bench.soak")

RESULTS = ROOT / "bench" / "results" / "soak.json"
SAMPLE_SECONDS = 30.0  # between two memory samples
CHECK_SECONDS = 5.0  # between two reads of the accepted jobs' records (well under the TTL)
DRAIN_SECONDS = 180.0  # after the load, how long the last jobs have to finish
WARMUP_SECONDS = 90.0  # at least this much of the run is warm-up …
WARMUP_SHARE = 0.2  # … or this share of it, whichever is longer
TARGET_GROWTH = 0.05  # growth after warm-up of every series
TARGET_P99_MS = 250.0  # the throughput bench's prediction p99 target
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
MB = 1024 * 1024
ROLES = ("web", "worker", "reports", "beat")
# retention scaled down so that Redis is at its steady state once warm-up ends
SOAK_ENV = {
    "LIFEBOAT_JOB_TTL_SECONDS": "60",
    "LIFEBOAT_PREDICTION_LOG_MAXLEN": "10000",
    "LIFEBOAT_FEEDBACK_INDEX_MAX_PREDICTIONS": "10000",
    "LIFEBOAT_MONITORING_WINDOW_ROWS": "10000",
    "LIFEBOAT_DRIFT_CHECK_INTERVAL_SECONDS": "60",
    "LIFEBOAT_BATCH_SWEEP_SECONDS": "60",
    # the recent-jobs indexes keep an entry for the longest TTL plus the longest time limit
    # (core.stores.index_seconds): with the 6 h batch limit they would grow all run long
    "LIFEBOAT_BATCH_TIME_LIMIT": "120",
    "LIFEBOAT_REPORT_TIME_LIMIT": "120",
    "LIFEBOAT_MAINTENANCE_TIME_LIMIT": "120",
}


@dataclass
class Sample:
    at: float  # seconds since the load began
    redis_mb: float
    rss_mb: dict[str, float]  # role -> summed RSS of its process group
    processes: dict[str, int]  # role -> processes in its group


def group_rss(leader: int) -> tuple[float, int]:
    """Summed RSS (MB) and count of the processes in the process group ``leader`` leads."""
    import os

    import psutil

    total, count = 0.0, 0
    for proc in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(proc.pid) == leader:
                total += proc.memory_info().rss / MB
                count += 1
        except (psutil.NoSuchProcess, ProcessLookupError, PermissionError):
            continue
    return total, count


def sample(stack: Stack, client: redis.Redis, began: float) -> Sample:
    rss, counts = {}, {}
    for role in ROLES:
        rss[role], counts[role] = group_rss(stack.procs[role].popen.pid)
    used = int(client.info("memory")["used_memory"]) / MB
    return Sample(round(time.monotonic() - began, 1), round(used, 2), rss, counts)


@dataclass
class Follower:
    """Follows every accepted job (read from the load's file) until its record is terminal."""

    path: Path
    client: redis.Redis
    keys: Keys = field(default_factory=Keys)
    offset: int = 0
    pending: dict[str, str] = field(default_factory=dict)  # job id -> type
    finished: dict[str, dict[str, int]] = field(default_factory=dict)  # type -> status -> n
    lost: list[tuple[str, str, str]] = field(default_factory=list)  # (type, id, why)
    turnaround: list[float] = field(default_factory=list)  # succeeded predictions, seconds

    def read_new(self) -> None:
        if not self.path.exists():
            return
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written waits
        self.offset += len(complete)
        for line in complete.splitlines():
            job = json.loads(line)
            self.pending[job["id"]] = job["type"]

    def check(self) -> None:
        self.read_new()
        ids = list(self.pending)
        pipe = self.client.pipeline(transaction=False)
        for job_id in ids:
            pipe.hmget(self.keys.job(job_id), "status", "created_at", "finished_at")
        for job_id, (status, created, done) in zip(ids, pipe.execute(), strict=True):
            kind = self.pending[job_id]
            if status is None:  # gone before it was seen terminal: expired unfinished, or lost
                self.lost.append((kind, job_id, "record gone"))
            elif status.decode() in TERMINAL:
                by_status = self.finished.setdefault(kind, {})
                by_status[status.decode()] = by_status.get(status.decode(), 0) + 1
                if kind == "prediction" and status == b"succeeded" and done:
                    self.turnaround.append(float(done) - float(created))
            else:
                continue
            del self.pending[job_id]

    def give_up(self) -> None:
        for job_id, kind in self.pending.items():
            self.lost.append((kind, job_id, "not terminal after the drain"))
        self.pending.clear()


def growth(series: list[float]) -> float | None:
    """Last value over the first, minus one (None without two values)."""
    if len(series) < 2 or series[0] <= 0:
        return None
    return round(series[-1] / series[0] - 1, 4)


def start_reports_and_beat(stack: Stack) -> None:
    """The reports worker (its own metrics port and directory) and beat, as make run has them."""
    port = free_port()
    proc = stack.start(
        "reports",
        worker_command("reports", 1, f"soak-reports-{port}@%h"),
        {
            "LIFEBOAT_WORKER_METRICS_PORT": str(port),
            "LIFEBOAT_WORKER_MAX_MEMORY_MB": "0",
            "LIFEBOAT_METRICS_DIR": str(stack.workdir / "metrics-reports"),
        },
    )
    wait_for_worker(proc, f"http://{LOOPBACK}:{port}/metrics", 1, START_TIMEOUT)
    schedule = f"--schedule={stack.workdir / 'celerybeat-schedule'}"
    stack.start("beat", celery_command("beat", "--loglevel=INFO", schedule))


def soak(minutes: float, rate: float) -> dict[str, Any]:
    seconds = minutes * 60
    warmup = max(WARMUP_SECONDS, WARMUP_SHARE * seconds)
    with running_stack(env=SOAK_ENV) as stack:
        start_reports_and_beat(stack)
        client = redis.Redis.from_url(stack.redis_url)
        accepted = stack.workdir / "accepted.jsonl"
        follower = Follower(accepted, client)
        load = subprocess.Popen(
            [
                PY,
                "-m",
                "bench.soak_load",
                "--url",
                stack.base_url,
                "--out",
                str(accepted),
                "--seconds",
                str(seconds),
                "--rate",
                str(rate),
            ],
            cwd=ROOT,
            env=stack.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        out: list[bytes] = []
        reader = threading.Thread(target=lambda: out.append(load.stdout.read()), daemon=True)
        reader.start()
        began = time.monotonic()
        samples = [sample(stack, client, began)]
        next_sample = began + SAMPLE_SECONDS
        while load.poll() is None:
            time.sleep(CHECK_SECONDS)
            follower.check()
            stack.check_alive()
            if time.monotonic() >= next_sample:
                samples.append(sample(stack, client, began))
                log.info("t=%.0f s: %s", samples[-1].at, samples[-1])
                next_sample += SAMPLE_SECONDS
        reader.join(10)
        drain_until = time.monotonic() + DRAIN_SECONDS
        follower.check()
        while follower.pending and time.monotonic() < drain_until:
            time.sleep(CHECK_SECONDS)
            follower.check()
        follower.give_up()
        load_summary = json.loads(out[0].decode().strip().splitlines()[-1])
    steady = [s for s in samples if s.at >= warmup]
    series = {"redis_used_memory_mb": [s.redis_mb for s in steady]}
    for role in ROLES:
        series[f"{role}_rss_mb"] = [round(s.rss_mb[role], 1) for s in steady]
    return {
        "minutes": minutes,
        "rate": rate,
        "warmup_s": warmup,
        "retention": SOAK_ENV,
        "load": load_summary,
        "samples": [s.__dict__ for s in samples],
        "growth_after_warmup": {name: growth(values) for name, values in series.items()},
        "target_growth": TARGET_GROWTH,
        "finished": follower.finished,
        "jobs_lost": len(follower.lost),
        "lost_examples": follower.lost[:10],
        "prediction_turnaround": percentiles_ms(follower.turnaround),
        "target_p99_ms": TARGET_P99_MS,
    }


def report(result: dict[str, Any]) -> None:
    print(f"\nsoak: {result['minutes']:g} min at {result['rate']:g} prediction jobs/s")
    print("   t(s)  redis MB  " + "  ".join(f"{r:>9}" for r in ROLES) + "   (RSS MB, processes)")
    for s in result["samples"]:
        cells = "  ".join(f"{s['rss_mb'][r]:6.1f}/{s['processes'][r]:<2}" for r in ROLES)
        print(f"  {s['at']:5.0f}  {s['redis_mb']:8.2f}  {cells}")
    print(f"growth after {result['warmup_s']:.0f} s of warm-up (target <= 5%):")
    for name, value in result["growth_after_warmup"].items():
        shown = "n/a" if value is None else f"{value * 100:+.1f}%"
        print(f"  {name:22} {shown}")
    turnaround = result["prediction_turnaround"]
    print(f"answers: {result['load']['answers']}")
    print(f"finished: {result['finished']}")
    print(f"jobs lost: {result['jobs_lost']} (target 0) {result['lost_examples'][:3]}")
    print(
        f"prediction turnaround p50 {turnaround['p50_ms']} ms, p99 {turnaround['p99_ms']} ms "
        f"(target p99 <= {TARGET_P99_MS:.0f} ms); submission p99 "
        f"{result['load']['submit_latency']['p99_ms']} ms"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="how long the load lasts")
    p.add_argument("--rate", type=float, default=200.0, help="prediction jobs a second")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    result = soak(args.minutes, args.rate)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
