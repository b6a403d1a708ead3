"""Bulk scoring end to end vs in one process: ``python -m bench.batch [--rows 1000000 5000000]``.

``--storage s3`` compares the two storage backends instead (:mod:`bench.batch_storage`).

For each size it writes a synthetic passenger file (rows drawn from the
reference dataset, a few values missing), then measures in the same run:

- the in-process baseline, in a process of its own: pandas ``read_csv`` →
  pipeline ``predict_proba`` → ``to_csv`` (threads unpinned, as a user would run it);
- the platform end to end on a private stack (Redis, a 2-process worker, the
  web): upload (``text/csv``, streamed) → job → download (streamed).

It prints rows/s of both and their ratio, and the peak RSS of every web and
worker process (psutil, sampled every ``SAMPLE_SECONDS``). Nothing asserts on
time; the issue's targets (ratio ≥ 0.8, worker ≤ 250 MB, web ≤ 150 MB) are
printed beside the figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ml.batch.columns import PROBA_PREFIX

log = logging.getLogger("bench.batch")

SAMPLE_SECONDS = 0.05  # psutil RSS sampling period
GENERATE_ROWS = 250_000  # rows generated and written at a time
TARGET_RATIO = 0.8  # end-to-end rows/s over baseline rows/s
TARGET_WORKER_MB = 250.0
TARGET_WEB_MB = 150.0
MB = 1024 * 1024


# --- the input file ------------------------------------------------------------------------
def write_input(path: Path, n_rows: int, seed: int = 0) -> None:
    """``n_rows`` passengers drawn from the reference data, with a ``passenger_id`` column."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv

    from ml.data.loading import load_dataset

    ref = load_dataset()
    rng = np.random.default_rng(seed)
    with pacsv.CSVWriter(
        str(path),
        pa.schema(
            [("passenger_id", pa.int64())]
            + [(c, pa.int64()) for c in ("pclass",)]
            + [("sex", pa.string()), ("age", pa.float64())]
            + [(c, pa.int64()) for c in ("sibsp", "parch")]
            + [("fare", pa.float64()), ("embarked", pa.string())]
        ),
        write_options=pacsv.WriteOptions(quoting_style="none"),
    ) as writer:
        for start in range(0, n_rows, GENERATE_ROWS):
            n = min(GENERATE_ROWS, n_rows - start)
            pick = ref.iloc[rng.integers(0, len(ref), n)]
            age = pick["age"].to_numpy()
            embarked = pick["embarked"].to_numpy(dtype=object)
            writer.write_table(
                pa.table(
                    {
                        "passenger_id": np.arange(start, start + n),
                        "pclass": pick["pclass"].to_numpy().astype(np.int64),
                        "sex": pick["sex"].to_numpy(dtype=object).astype(str),
                        "age": pa.array(age, mask=np.isnan(age)),
                        "sibsp": pick["sibsp"].to_numpy().astype(np.int64),
                        "parch": pick["parch"].to_numpy().astype(np.int64),
                        "fare": pa.array(pick["fare"].to_numpy(), from_pandas=True),
                        "embarked": pa.array(
                            [None if isinstance(e, float) else e for e in embarked], pa.string()
                        ),
                    }
                )
            )


# --- the in-process baseline ---------------------------------------------------------------
def baseline(path: Path, models_dir: Path, out: Path) -> dict[str, Any]:
    """read_csv → predict_proba → to_csv in this process; rows/s and peak RSS."""
    import numpy as np
    import pandas as pd

    from ml.registry import Registry

    model = Registry(models_dir).load(None)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    df = pd.read_csv(path)
    t1 = time.perf_counter()
    proba = model.pipeline.predict_proba(df[model.schema.feature_names])
    t2 = time.perf_counter()
    labels = np.asarray(model.class_labels)
    scored = pd.DataFrame(
        {"passenger_id": df["passenger_id"], "prediction": labels[proba.argmax(1)]}
    )
    for k, label in enumerate(model.class_labels):
        scored[f"{PROBA_PREFIX}{label}"] = proba[:, k]
    scored.to_csv(out, index=False)
    t3 = time.perf_counter()
    return {
        "rows": len(df),
        "seconds": t3 - t0,
        "read_s": t1 - t0,
        "predict_s": t2 - t1,
        "write_s": t3 - t2,
        "rows_per_s": len(df) / (t3 - t0),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_after_model_load_mb": rss_before,
    }


# --- the platform end to end ---------------------------------------------------------------
class RssSampler:
    """Peak RSS of every process in the process groups of the named stack processes."""

    def __init__(self, roots: dict[str, int]) -> None:
        self.roots = roots
        self.peaks: dict[str, dict[int, float]] = {name: {} for name in roots}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            for name, pid in self.roots.items():
                try:
                    root = psutil.Process(pid)
                    procs = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    continue
                for p in procs:
                    try:
                        rss = p.memory_info().rss / MB
                    except psutil.NoSuchProcess:
                        continue
                    peaks = self.peaks[name]
                    peaks[p.pid] = max(peaks.get(p.pid, 0.0), rss)
            self._stop.wait(SAMPLE_SECONDS)


def end_to_end(base_url: str, api_key: str, path: Path, out: Path, n_rows: int) -> dict[str, Any]:
    import requests

    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {api_key}"
        t0 = time.perf_counter()
        with path.open("rb") as f:
            resp = http.post(
                f"{base_url}/api/v1/batches",
                data=f,
                params={"id_column": "passenger_id"},
                headers={"Content-Type": "text/csv"},
                timeout=(10, 600),
            )
        resp.raise_for_status()
        job = resp.json()
        t1 = time.perf_counter()
        while job["status"] in ("queued", "running"):
            job = http.get(
                f"{base_url}/api/v1/jobs/{job['id']}", params={"wait": 1}, timeout=30
            ).json()
        t2 = time.perf_counter()
        if job["status"] != "succeeded":
            raise RuntimeError(f"batch job ended {job['status']}: {job.get('error')}")
        with (
            http.get(
                f"{base_url}/api/v1/jobs/{job['id']}/result", stream=True, timeout=(10, 600)
            ) as resp,
            out.open("wb") as sink,
        ):
            resp.raise_for_status()
            for chunk in resp.iter_content(1 << 20):
                sink.write(chunk)
        t3 = time.perf_counter()
    with out.open("rb") as f:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 22), b""))
    if lines - 1 != n_rows or job["result"]["rows"] != n_rows:
        raise RuntimeError(f"scored file has {lines - 1} rows, expected {n_rows}")
    return {
        "rows": n_rows,
        "seconds": t3 - t0,
        "upload_s": t1 - t0,
        "job_s": t2 - t1,
        "download_s": t3 - t2,
        "rows_per_s": n_rows / (t3 - t0),
        "failed_rows": job["result"]["failed_rows"],
    }


def run(sizes: list[int]) -> list[dict[str, Any]]:
    from bench.stack import running_stack
    from bench.subproc import run_json

    results = []
    with tempfile.TemporaryDirectory(prefix="lifeboat-bench-batch-") as tmp, running_stack() as st:
        work = Path(tmp)
        roots = {name: st.procs[name].popen.pid for name in ("web", "worker")}
        for n in sizes:
            path = work / f"input-{n}.csv"
            log.info("writing %d rows to %s", n, path)
            write_input(path, n)
            log.info("in-process baseline, %d rows", n)
            base = run_json(
                "bench.batch",
                ["--baseline", str(path), "--models-dir", str(st.models_dir)],
                st.env,
                timeout=3600,
            )
            log.info("end to end, %d rows", n)
            with RssSampler(roots) as sampler:
                e2e = end_to_end(
                    st.base_url, st.env["LIFEBOAT_API_KEY"], path, work / f"scored-{n}.csv", n
                )
            st.check_alive()
            web = sampler.peaks["web"]
            worker = sampler.peaks["worker"]
            results.append(
                {
                    "rows": n,
                    "file_mb": round(path.stat().st_size / MB, 1),
                    "baseline": base,
                    "end_to_end": e2e,
                    "ratio": e2e["rows_per_s"] / base["rows_per_s"],
                    "peak_rss_mb": {
                        "web": {str(pid): round(v, 1) for pid, v in web.items()},
                        "worker": {str(pid): round(v, 1) for pid, v in worker.items()},
                    },
                    "max_web_rss_mb": round(max(web.values()), 1),
                    "max_worker_rss_mb": round(max(worker.values()), 1),
                }
            )
            path.unlink()
            (work / f"scored-{n}.csv").unlink()
    return results


def report(results: list[dict[str, Any]]) -> None:
    for r in results:
        b, e = r["baseline"], r["end_to_end"]
        ok = r["ratio"] >= TARGET_RATIO
        print(f"\n== {r['rows']:,} rows ({r['file_mb']} MB)")
        print(
            f"in-process baseline: {b['rows_per_s']:>9,.0f} rows/s  {b['seconds']:6.1f} s "
            f"(read {b['read_s']:.1f}, predict {b['predict_s']:.1f}, write {b['write_s']:.1f}) "
            f"peak RSS {b['peak_rss_mb']:.0f} MB"
        )
        print(
            f"end to end:          {e['rows_per_s']:>9,.0f} rows/s  {e['seconds']:6.1f} s "
            f"(upload {e['upload_s']:.1f}, job {e['job_s']:.1f}, download {e['download_s']:.1f})"
        )
        print(f"ratio {r['ratio']:.2f} (target >= {TARGET_RATIO}: {'PASS' if ok else 'FAIL'})")
        for kind, limit in (("worker", TARGET_WORKER_MB), ("web", TARGET_WEB_MB)):
            peak = r[f"max_{kind}_rss_mb"]
            each = ", ".join(f"{v:.0f}" for v in r["peak_rss_mb"][kind].values())
            verdict = "PASS" if peak <= limit else "FAIL"
            print(
                f"peak RSS {kind:<6} {peak:6.1f} MB (each: {each}) target <= {limit:.0f}: {verdict}"
            )
    print(json.dumps(results))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.batch", description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    p.add_argument(
        "--storage",
        choices=("local", "s3"),
        default="local",
        help="s3: the same files end to end through a stack on S3-compatible storage (moto) "
        "and one on the filesystem, alternating; prints their ratio and peak RSS",
    )
    p.add_argument("--repeat", type=int, default=2, help="runs per backend with --storage s3")
    p.add_argument("--baseline", type=Path, help=argparse.SUPPRESS)  # the baseline's own process
    p.add_argument("--models-dir", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if args.baseline:
        with tempfile.TemporaryDirectory() as tmp:
            out = baseline(args.baseline, args.models_dir, Path(tmp) / "scored.csv")
        print(json.dumps(out))
        return 0
    if args.storage == "s3":
        from bench import batch_storage

        batch_storage.report(batch_storage.run(args.rows, args.repeat))
        return 0
    report(run(args.rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
