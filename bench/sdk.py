"""``python -m bench.sdk``: what the SDK adds to a call, against raw httpx on the same stack.

One client in this process, calls one after another over loopback: a one-instance
prediction (``POST /predictions?wait=5``, answered with the finished job) and
``GET /models``, each made with a bare ``httpx.Client`` (the baseline: the same
HTTP library, no retries, no parsing beyond ``.json()``) and with
``lifeboat_client.Client`` (retry machinery, an Idempotency-Key, typed results), in
alternating blocks so that a load swing hits both. Prints one JSON object: p50 and
p99 of each, and the SDK's p50 over the baseline's.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable

import httpx

from bench.stack import running_stack
from bench.stats import percentiles_ms
from devsupport import ROOT

sys.path.insert(0, str(ROOT / "client"))  # the SDK of this checkout (not installed here)

from lifeboat_client import Client

BLOCKS = 6  # alternating blocks of each kind
CALLS_PER_BLOCK = 100
WARMUP_CALLS = 50
PASSENGER = {
    "pclass": 1,
    "sex": "female",
    "age": 29.0,
    "sibsp": 0,
    "parch": 0,
    "fare": 211.34,
    "embarked": "S",
}


def _block(fn: Callable[[], object], out: list[float]) -> None:
    for _ in range(CALLS_PER_BLOCK):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)


def main() -> None:
    with running_stack() as stack:
        key = stack.env["LIFEBOAT_API_KEY"]
        raw = httpx.Client(base_url=stack.base_url, headers={"Authorization": f"Bearer {key}"})
        sdk = Client(stack.base_url, key)

        def raw_predict() -> object:
            r = raw.post("/api/v1/predictions?wait=5", json={"instances": [PASSENGER]})
            r.raise_for_status()
            return r.json()["result"]["predictions"]

        def sdk_predict() -> object:
            return sdk.predict([PASSENGER], wait=5).predictions

        def raw_models() -> object:
            r = raw.get("/api/v1/models")
            r.raise_for_status()
            return r.json()["models"]

        kinds = {
            "predict": (raw_predict, sdk_predict),
            "models": (raw_models, sdk.models),
        }
        report: dict[str, object] = {"scenario": "sdk", "calls_each": BLOCKS * CALLS_PER_BLOCK}
        for name, (base, new) in kinds.items():
            for fn in (base, new) * (WARMUP_CALLS // 2):
                fn()
            base_s: list[float] = []
            new_s: list[float] = []
            for _ in range(BLOCKS):
                _block(base, base_s)
                _block(new, new_s)
            b, n = percentiles_ms(base_s), percentiles_ms(new_s)
            ratio = n["p50_ms"] / b["p50_ms"] if b["p50_ms"] and n["p50_ms"] else None
            report[name] = {"httpx": b, "sdk": n, "p50_ratio": ratio and round(ratio, 3)}
        raw.close()
        sdk.close()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
