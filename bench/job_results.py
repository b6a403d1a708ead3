"""``python -m bench.job_results``: a large job result in its record vs. under its own key.

Writes finished jobs both ways into a private Redis through the job store (a
result of ``--predictions`` predictions, like a 1000-instance prediction job),
then times, in alternating rounds: reading a record's state (``HGETALL`` of the
record, as long-poll wake-ups, cancels and workers' ``get_many`` do) and reading
the whole job (``JobStore.get``: the record and, pipelined, the result's key).
Prints Redis memory per job, medians (microseconds) and ratios.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from core.jobs import JobStatus, JobStore, JobType, Outcome, transitions
from core.keys import Keys
from devsupport import start_redis

LAYOUTS = {"in record": 1 << 40, "own key": transitions.RESULT_INLINE_BYTES}


def fill(store: JobStore, n: int, predictions: int, inline_limit: int) -> list[str]:
    transitions.RESULT_INLINE_BYTES = inline_limit
    one = {"prediction": "died", "probabilities": {"died": 0.8, "survived": 0.2}}
    result = {"predictions": [dict(one, id=k) for k in range(predictions)], "model_version": "v"}
    ids = []
    for _ in range(n):
        job_id, _ = store.create(
            JobType.PREDICTION,
            params={"instances": [{}] * predictions},
            model_version="v",
            total=predictions,
            tenant="bench",
        )
        store.claim(job_id, "bench", lease=30)
        store.finish(Outcome(job_id, JobStatus.SUCCEEDED, result=result))
        ids.append(job_id)
    return ids


def timed(fn, ids: list[str]) -> list[float]:  # type: ignore[no-untyped-def]
    out = []
    for job_id in ids:
        t0 = time.perf_counter()
        fn(job_id)
        out.append((time.perf_counter() - t0) * 1e6)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--predictions", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    saved = transitions.RESULT_INLINE_BYTES
    with tempfile.TemporaryDirectory(prefix="bench-results-") as tmp:
        server = start_redis(Path(tmp) / "redis")
        try:
            stores, ids, memory = {}, {}, {}
            for n, (name, limit) in enumerate(LAYOUTS.items()):
                store = stores[name] = JobStore(server.client(n), keys=Keys("b"), ttl=3600)
                before = server.client(n).info("memory")["used_memory"]
                ids[name] = fill(store, args.jobs, args.predictions, limit)
                memory[name] = (server.client(n).info("memory")["used_memory"] - before) / args.jobs
            transitions.RESULT_INLINE_BYTES = saved
            moved = {
                name: sum(map(len, store.redis.hgetall(store.key(ids[name][0])).values()))
                for name, store in stores.items()
            }
            state = {k: [] for k in LAYOUTS}
            whole = {k: [] for k in LAYOUTS}
            for _ in range(args.rounds):
                for name, store in stores.items():
                    state[name] += timed(lambda i, s=store: s.redis.hgetall(s.key(i)), ids[name])
                    whole[name] += timed(store.get, ids[name])
        finally:
            server.proc.stop()
    for name in LAYOUTS:
        print(
            f"{name:9}: {memory[name] / 1024:7.1f} KiB of Redis a job; record's state "
            f"{moved[name]:6d} bytes,"
            f"{statistics.median(state[name]):7.1f} us; whole job "
            f"{statistics.median(whole[name]):7.1f} us (medians)"
        )
    a, b = LAYOUTS
    ratios = {
        "record's state": statistics.median(state[b]) / statistics.median(state[a]),
        "whole job": statistics.median(whole[b]) / statistics.median(whole[a]),
        "bytes of a record's state": moved[b] / moved[a],
        "memory": memory[b] / memory[a],
    }
    print("own key / in record: " + ", ".join(f"{k} {v:.3f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
