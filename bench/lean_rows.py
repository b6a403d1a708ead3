"""Time the compiled trees' two ways to add up a few rows:
``python -m bench.lean_rows [--models-dir DIR]``.

``CompiledTrees.raw`` scores up to ``FEW_ROWS`` rows by bisecting in Python and adding
the trees' values with one accumulate, and more rows table by table and tree by tree
with numpy. Both are timed here for each number of rows, alternating, one thread:
p50 microseconds of each and their ratio, which is where ``FEW_ROWS`` comes from.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np

from bench.model_baseline import timed
from bench.stats import percentiles_ms

ROWS = (1, 2, 4, 8, 16, 32, 64, 128, 512)
MISSING_SHARE = 0.1  # values left missing: a missing value takes its own branch


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lean_rows")
    p.add_argument("--models-dir", type=Path, default=Path("models"))
    p.add_argument("--repeat", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=200)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    from ml.lean import trees
    from ml.registry import Registry

    model = Registry(args.models_dir).load(None)
    head = model.lean.head if model.lean is not None else None
    if not isinstance(head, trees.CompiledTrees):
        raise SystemExit(f"model {model.version} has no compiled trees to time")
    rng = np.random.default_rng(0)
    few_rows = trees.FEW_ROWS
    sizes = {}
    try:
        for rows in ROWS:
            matrix = rng.normal(0.0, 30.0, (rows, head.n_features_needed()))
            matrix[rng.random(matrix.shape) < MISSING_SHARE] = np.nan
            timings = {}
            for way, limit in (("by_tree", 0), ("few", len(matrix)), ("by_tree", 0)):
                trees.FEW_ROWS = limit
                timings.setdefault(way, []).extend(
                    timed(lambda m=matrix: head.raw(m), args.repeat // 2, args.warmup)
                )
            by_tree = percentiles_ms(timings["by_tree"])["p50_ms"] * 1000
            few = percentiles_ms(timings["few"])["p50_ms"] * 1000
            sizes[rows] = {
                "by_tree_p50_us": round(by_tree, 1),
                "few_p50_us": round(few, 1),
                "few_over_by_tree": round(few / by_tree, 2),
            }
    finally:
        trees.FEW_ROWS = few_rows
    out = {"model_version": model.version, "trees": head.n_trees, "few_rows": few_rows}
    json.dump({**out, "rows": sizes}, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
