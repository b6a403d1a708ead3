"""``python -m bench.policy_cost``: what the traffic policy adds to routing a request.

In one process, against a private redis-server and two installed versions (the models
folder's default, copied as a second version): ``Catalog.route`` for a request naming no
version, alternating rounds of three kinds — without a traffic policy (the web before
it: the models folder's default), with a stored 10 % canary read through the process's
0.5 s cache (as the web runs), and with the cache off (a Redis ``GET`` per request, the
cost the cache avoids) — plus one ``PING`` (a bare round trip) for scale. Counts the
Redis round trips each makes (replies read by the client's connections) over the whole
round. Prints one JSON object.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from bench.rate_limit_cost import CountingConnection, counting_pool
from core.deployment import Canary, DeploymentStore, replaced
from core.keys import Keys
from core.policy_cache import PolicyCache
from core.settings import Settings
from devsupport import start_redis
from ml.registry import Registry
from web.catalog import Catalog

CALLS = 20_000  # calls of each kind per round
ROUNDS = 3  # rounds, kinds alternating within each


def _round(fn: Callable[[int], object]) -> tuple[float, float, float]:
    """(mean microseconds per call, round trips per call, seconds) over CALLS calls."""
    before = CountingConnection.replies
    t0 = time.perf_counter()
    for i in range(CALLS):
        fn(i)
    took = time.perf_counter() - t0
    return took / CALLS * 1e6, (CountingConnection.replies - before) / CALLS, took


def measure(url: str, models: Path) -> dict[str, Any]:
    client = redis.Redis(connection_pool=counting_pool(url))
    store = DeploymentStore(client, Keys("bench"))
    default = Registry(models).default_version()
    who = {"key_id": "bench", "tenant": "bench"}
    canary = Canary("bench-v2", 0.1)
    store.change("set", who, lambda before: replaced(before, default, default, canary, []))
    kinds: dict[str, Callable[[int], object]] = {
        "no_policy": Catalog(Registry(models)).route,
        "cached_policy": Catalog(Registry(models), PolicyCache(store)).route,
        "uncached_policy": Catalog(Registry(models), PolicyCache(store, ttl=0)).route,
        "ping": lambda *_: client.ping(),
    }
    results: dict[str, list[tuple[float, float, float]]] = {k: [] for k in kinds}
    for _ in range(ROUNDS):
        for name, route in kinds.items():
            results[name].append(_round(lambda i, r=route: r(None, f"id-{i}")))
    figures: dict[str, Any] = {"calls_per_round": CALLS, "rounds": ROUNDS}
    for name, rounds in results.items():
        figures[f"{name}_us"] = round(min(r[0] for r in rounds), 2)
        figures[f"{name}_round_trips_per_call"] = round(max(r[1] for r in rounds), 5)
        figures[f"{name}_seconds_per_round"] = round(max(r[2] for r in rounds), 2)
    figures["cached_over_no_policy"] = round(
        figures["cached_policy_us"] / figures["no_policy_us"], 2
    )
    figures["uncached_over_no_policy"] = round(
        figures["uncached_policy_us"] / figures["no_policy_us"], 2
    )
    return figures


def main() -> int:
    settings = Settings()
    default = Registry(settings.models_dir).default_version()
    with tempfile.TemporaryDirectory(prefix="lifeboat-policy-") as tmp:
        models = Path(tmp) / "models"
        shutil.copytree(settings.models_dir / default, models / default)
        shutil.copytree(settings.models_dir / default, models / "bench-v2")
        (models / "DEFAULT").write_text(default)
        server = start_redis(Path(tmp) / "redis")
        try:
            figures = measure(f"{server.url}/0", models)
        finally:
            server.proc.stop()
    json.dump(figures, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
