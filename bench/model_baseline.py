"""Time the model call alone: ``python -m bench.model_baseline --models-dir DIR``.

Threads are pinned to one per process, as in the workers. Measures the
scikit-learn pipeline's ``predict_proba`` on a 1-row DataFrame and the lean
path ``Model.predict_proba_rows`` on one cleaned row. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench.instances import SAMPLE_INSTANCE
from bench.stats import percentiles_ms


def timed(fn: Callable[[], object], repeat: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.model_baseline")
    p.add_argument("--models-dir", type=Path, required=True)
    p.add_argument("--repeat", type=int, default=300)
    p.add_argument("--warmup", type=int, default=30)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    import sklearn.ensemble  # noqa: F401 — loads the OpenMP runtime so the limit covers it

    threadpool_limits(limits=1)
    from ml.registry import Registry
    from ml.schema import validate_instances

    model = Registry(args.models_dir).load(None)
    rows = validate_instances(model.schema, [SAMPLE_INSTANCE], max_instances=1)
    frame = model.rows_to_frame(rows)
    sklearn_s = timed(lambda: model.pipeline.predict_proba(frame), args.repeat, args.warmup)
    lean_s = timed(lambda: model.predict_proba_rows(rows), args.repeat, args.warmup)
    out = {
        "model_version": model.version,
        "lean_scorer": model.lean is not None,
        "sklearn_predict_proba_1row_p50_ms": percentiles_ms(sklearn_s)["p50_ms"],
        "lean_predict_proba_rows_1row_p50_ms": percentiles_ms(lean_s)["p50_ms"],
        "repeat": args.repeat,
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
