"""Fire no-op tasks from many threads, each waiting its result: ``python -m bench.noop_producer``.

Each thread loops ``noop.delay().get()`` until the time is up (the Redis result
backend waits on pub/sub, not by polling): tasks a second, and the round trips'
percentiles (one thread: a raw Celery round trip's latency). Prints one JSON object
on stdout.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time

from bench.stats import percentiles_ms

RESULT_TIMEOUT = 10.0  # seconds one no-op may take before it counts as an error
READY_TIMEOUT = 60.0  # seconds the first no-op may take while the worker starts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.noop_producer")
    p.add_argument("--threads", type=int, default=32)
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds")
    p.add_argument("--warmup-seconds", type=float, default=1.0)
    p.add_argument("--samples", action="store_true", help="also print every round trip (s)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")

    from bench.noop_app import noop

    # the worker is up once it answers (its pool children fork before taking work)
    noop.delay().get(timeout=READY_TIMEOUT)
    t_begin = time.perf_counter()
    t_measure = t_begin + args.warmup_seconds
    t_end = t_measure + args.duration
    lock = threading.Lock()
    done = [0]
    durations: list[float] = []  # round trips measured in the window, in seconds
    errors: dict[str, int] = {}

    def loop() -> None:
        while time.perf_counter() < t_end:
            started = time.perf_counter()
            try:
                result = noop.delay()
                result.get(timeout=RESULT_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 — counted and reported
                with lock:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            finished = time.perf_counter()
            if started >= t_measure and finished <= t_end:
                with lock:
                    done[0] += 1
                    durations.append(finished - started)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(args.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=args.warmup_seconds + args.duration + RESULT_TIMEOUT + 5)
    out = {
        "threads": args.threads,
        "duration_s": args.duration,
        "tasks": done[0],
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "tasks_per_s": round(done[0] / args.duration, 2),
        **percentiles_ms(durations),
        **({"samples": {"round_trip_s": durations}} if args.samples else {}),
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
