"""Batch scoring through S3-compatible storage vs the filesystem (``bench.batch --storage s3``).

Two private stacks run side by side, alike but for where their files live: one
under a folder (the default backend), one in a bucket of moto's S3 server
(started here, a process of its own, as in the tests). For each size the same
file goes end to end (upload → job → download) through each stack in turn,
``--repeat`` times, alternating, so that the machine's noise falls on both. It
prints rows/s of each backend, their ratio (S3 over filesystem, the best run of
each), the CPU time the S3 server (moto, pure Python: slower than a real store)
spent on each run, and the peak RSS of every web and worker process of both stacks (the
issue's targets: web ≤ 150 MB, a scoring process ≤ 250 MB). Nothing asserts on time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.batch import MB, TARGET_WEB_MB, TARGET_WORKER_MB, RssSampler, end_to_end, write_input
from bench.stack import Stack, running_stack
from devsupport import start_s3

log = logging.getLogger("bench.batch")

BACKENDS = ("filesystem", "s3")


@contextlib.contextmanager
def two_stacks(workdir: Path) -> Iterator[tuple[dict[str, Stack], int]]:
    """A stack on the filesystem and one on a bucket of a private S3 server (its pid too)."""
    server = start_s3(workdir / "s3")
    try:
        with running_stack() as local, running_stack(env=server.env("bench")) as s3:
            yield {"filesystem": local, "s3": s3}, server.proc.popen.pid
    finally:
        server.proc.stop()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def run(sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    results = []
    with tempfile.TemporaryDirectory(prefix="lifeboat-bench-storage-") as tmp:
        work = Path(tmp)
        with two_stacks(work) as (stacks, server_pid):
            for n in sizes:
                path = work / f"input-{n}.csv"
                log.info("writing %d rows to %s", n, path)
                write_input(path, n)
                runs: dict[str, list[dict[str, Any]]] = {b: [] for b in BACKENDS}
                peaks: dict[str, dict[str, float]] = {b: {} for b in BACKENDS}
                for i in range(repeat):
                    for backend in BACKENDS if i % 2 == 0 else BACKENDS[::-1]:
                        st = stacks[backend]
                        roots = {name: st.procs[name].popen.pid for name in ("web", "worker")}
                        log.info("%s, %d rows, run %d of %d", backend, n, i + 1, repeat)
                        out = work / f"scored-{n}.csv"
                        cpu_before = cpu_seconds(server_pid)
                        with RssSampler(roots) as sampler:
                            e2e = end_to_end(st.base_url, st.env["LIFEBOAT_API_KEY"], path, out, n)
                        e2e["s3_server_cpu_s"] = cpu_seconds(server_pid) - cpu_before
                        runs[backend].append(e2e)
                        st.check_alive()
                        out.unlink()
                        for name in ("web", "worker"):
                            peak = max(sampler.peaks[name].values())
                            peaks[backend][name] = max(peaks[backend].get(name, 0.0), peak)
                best = {b: max(r["rows_per_s"] for r in runs[b]) for b in BACKENDS}
                results.append(
                    {
                        "rows": n,
                        "file_mb": round(path.stat().st_size / MB, 1),
                        "runs": runs,
                        "best_rows_per_s": best,
                        "ratio_s3_to_filesystem": best["s3"] / best["filesystem"],
                        "peak_rss_mb": {
                            b: {k: round(v, 1) for k, v in p.items()} for b, p in peaks.items()
                        },
                    }
                )
                path.unlink()
    return results


def report(results: list[dict[str, Any]]) -> None:
    for r in results:
        print(f"\n== {r['rows']:,} rows ({r['file_mb']} MB)")
        for backend in BACKENDS:
            each = ", ".join(f"{e['rows_per_s']:,.0f}" for e in r["runs"][backend])
            secs = r["runs"][backend][-1]
            print(
                f"{backend:<10} best {r['best_rows_per_s'][backend]:>9,.0f} rows/s (runs: {each}); "
                f"last: upload {secs['upload_s']:.1f} s, job {secs['job_s']:.1f} s, "
                f"download {secs['download_s']:.1f} s; the S3 server's CPU "
                f"{secs['s3_server_cpu_s']:.1f} s"
            )
        print(f"ratio s3 / filesystem: {r['ratio_s3_to_filesystem']:.2f}")
        for backend in BACKENDS:
            peaks = r["peak_rss_mb"][backend]
            web, worker = peaks["web"], peaks["worker"]
            verdict = "PASS" if web <= TARGET_WEB_MB and worker <= TARGET_WORKER_MB else "FAIL"
            print(
                f"peak RSS {backend:<10} web {web:6.1f} MB (<= {TARGET_WEB_MB:.0f}), "
                f"worker {worker:6.1f} MB (<= {TARGET_WORKER_MB:.0f}): {verdict}"
            )
    print(json.dumps(results))
