"""``python -m bench.job_listing [--baseline PATH]``: ``GET /api/v1/jobs`` latency with 10k jobs.

Each checkout (this one, and ``--baseline``'s, e.g. ``/work/main``) gets its own Redis,
filled by its own job store with ``--jobs`` finished prediction jobs of the admin key's
tenant (every ``--large-every``-th with a 1000-prediction result, the others with 10),
and its own web. Rounds alternate between the checkouts, back to back; each round
times ``--requests`` sequential requests of every query. Prints the median and p90 of
each (milliseconds), and this checkout's median over the baseline's.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from devsupport import LOOPBACK, PY, ROOT, http_ok, start, start_redis, wait_until
from devsupport.stack import stack_env

QUERIES = {  # what is timed: the default page, and a filter matching no job (a full scan)
    "limit=50": {"limit": 50},
    "limit=50&type=batch": {"limit": 50, "type": "batch"},
}
FILL = """
import sys
import redis
from core import stores
from core.jobs import JobStatus, JobType, Outcome
from core.settings import Settings
settings = Settings()
store = stores.job_store(settings, redis.Redis.from_url(settings.redis_url))
n, every = int(sys.argv[1]), int(sys.argv[2])
one = {"prediction": "died", "probabilities": {"died": 0.8, "survived": 0.2}, "id": None}
for i in range(n):
    size = 1000 if i % every == 0 else 10
    job_id, _ = store.create(JobType.PREDICTION, params={"instances": [{}] * size},
                             model_version="v1", total=size, tenant=settings.bootstrap_tenant)
    store.claim(job_id, "fill", lease=30)
    result = {"predictions": [dict(one, id=k) for k in range(size)], "model_version": "v1"}
    store.finish(Outcome(job_id, JobStatus.SUCCEEDED, result=result))
"""


class Side:
    """One checkout's Redis and web."""

    def __init__(self, name: str, root: Path, workdir: Path, args: argparse.Namespace) -> None:
        self.name = name
        self.redis = start_redis(workdir / "redis")
        self.env = stack_env(f"{self.redis.url}/0", root / "models", workdir, PYTHONPATH=str(root))
        subprocess.run(
            [PY, "-c", FILL, str(args.jobs), str(args.large_every)],
            cwd=root,
            env=self.env,
            check=True,
        )
        self.url = f"http://{LOOPBACK}:{self.env['LIFEBOAT_WEB_PORT']}/api/v1/jobs"
        cmd = [PY, "-m", "gunicorn", "-c", "web/gunicorn_conf.py", "web.app:create_app()"]
        self.web = start(f"web-{name}", cmd, self.env, workdir / "logs", cwd=root)
        health = self.url.replace("/api/v1/jobs", "/health")
        wait_until(lambda: http_ok(health), 120, "web", self.web)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {self.env['LIFEBOAT_BOOTSTRAP_ADMIN_KEY']}"
        self.times: dict[str, list[float]] = {q: [] for q in QUERIES}
        self.used_memory = self.redis.client().info("memory")["used_memory"]

    def round(self, requests_per_query: int) -> None:
        for query, params in QUERIES.items():
            for _ in range(requests_per_query):
                t0 = time.perf_counter()
                r = self.http.get(self.url, params=params, timeout=30)
                self.times[query].append(time.perf_counter() - t0)
                r.raise_for_status()

    def stop(self) -> None:
        self.web.stop()
        self.redis.proc.stop()


def summary(times: list[float]) -> tuple[float, float]:
    ms = sorted(t * 1000 for t in times)
    return statistics.median(ms), ms[int(0.9 * (len(ms) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--large-every", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    roots = {"this": ROOT, **({"baseline": args.baseline.resolve()} if args.baseline else {})}
    with tempfile.TemporaryDirectory(prefix="bench-listing-") as tmp:
        sides = [Side(n, r, Path(tmp) / n, args) for n, r in roots.items()]
        try:
            for _ in range(args.rounds):
                for side in sides:
                    side.round(args.requests)
        finally:
            for side in sides:
                side.stop()
    for side in sides:
        print(f"{side.name}: Redis used_memory {side.used_memory / 2**20:.1f} MiB")
        for query, times in side.times.items():
            median, p90 = summary(times)
            print(f"{side.name:9} GET /jobs?{query:22} median {median:7.2f} ms  p90 {p90:7.2f} ms")
    if len(sides) == 2:
        for query in QUERIES:
            ratio = summary(sides[0].times[query])[0] / summary(sides[1].times[query])[0]
            print(f"this/baseline median GET /jobs?{query}: {ratio:.3f}")


if __name__ == "__main__":
    main()
