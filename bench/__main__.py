"""``python -m bench [scenario ...]``: start a private stack, measure, print, write results.

Each scenario prints one JSON line (its figures, the baselines measured in this
run, and its targets from issue 3 with pass/fail) and writes
``bench/results/<scenario>.json``; a human summary follows at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from bench import baselines as baseline_module
from bench.scenarios import SCENARIOS, Options
from bench.stack import WORKER_CONCURRENCY, WORKER_LOGLEVEL, Stack, running_stack
from bench.targets import check
from devsupport import ROOT

log = logging.getLogger("bench")

RESULTS_DIR = Path(__file__).resolve().parent / "results"
NOISE_CORES = 0.2  # other processes busier than this (in cores) make the figures noisy
TUNING_PREFIXES = (
    "microbatch_",
    "publish_linger",
    "web_workers",
    "web_connections",
    "worker_threads",
    "claim_",
    "rate_limit_",
    "auth_",
    "tenant_max_active_jobs",
)


def _git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def effective_settings(env: dict[str, str]) -> dict[str, Any]:
    """The stack's settings that shape performance, as its processes read them."""
    from core.settings import Settings

    given = {
        name: env[f"LIFEBOAT_{name.upper()}"]
        for name in Settings.model_fields
        if f"LIFEBOAT_{name.upper()}" in env
    }
    settings = Settings(**given)
    return {
        name: getattr(settings, name)
        for name in Settings.model_fields
        if name.startswith(TUNING_PREFIXES)
    }


def environment(stack: Stack) -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "commit": _git_commit(),
        "worker_concurrency": WORKER_CONCURRENCY,
        "worker_loglevel": WORKER_LOGLEVEL,
        "settings": effective_settings(stack.env),
    }


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def run(
    names: list[str], options: Options, out: TextIO, *, train: bool = False
) -> list[dict[str, Any]]:
    """Run the scenarios named, printing one JSON line each; returns their documents."""
    RESULTS_DIR.mkdir(exist_ok=True)
    documents: list[dict[str, Any]] = []
    t0 = time.monotonic()
    with running_stack(train=train) as stack:
        base = baseline_module.measure(stack)
        log.info("baselines: %s", base)
        env = environment(stack)
        (RESULTS_DIR / "baselines.json").write_text(json.dumps(base, indent=2) + "\n")
        for name in names:
            log.info("scenario %s", name)
            started = time.monotonic()
            figures = SCENARIOS[name].run(stack, options)
            doc = {
                "scenario": name,
                "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "seconds": round(time.monotonic() - started, 1),
                "figures": figures,
                "baselines": base,
                "targets": check(name, figures, base),
                "environment": env,
            }
            (RESULTS_DIR / f"{name}.json").write_text(json.dumps(doc, indent=2) + "\n")
            out.write(json.dumps(doc) + "\n")
            out.flush()
            documents.append(doc)
    log.info("bench finished in %.0f s", time.monotonic() - t0)
    return documents


def _other_load(figures: dict[str, Any]) -> float:
    """The most cores other processes kept busy during any load run of a scenario."""
    if "by_size" in figures:
        runs = list(figures["by_size"].values())
    elif "runs" in figures:
        runs = [
            run
            for mode in figures["runs"].values()
            for run in (mode if isinstance(mode, list) else [mode])
        ]
    else:
        runs = [figures]
    return max((run.get("cpu", {}).get("other_cores_busy", 0.0) for run in runs), default=0.0)


def per_job_line(figures: dict[str, Any]) -> str:
    """CPU milliseconds per job by stack part, and Redis commands per job."""
    ms = figures["cpu_ms"]
    parts = ", ".join(f"{name} {ms[name]}" for name in ("web", "worker", "redis"))
    return (
        f"CPU {ms['stack']} ms ({parts}), {figures['redis_commands']} Redis commands "
        f"over {figures['jobs']} jobs"
    )


def summary(documents: list[dict[str, Any]]) -> str:
    """A human summary: the main figures, the baselines, each target with pass/fail."""
    if not documents:
        return ""
    base = documents[0]["baselines"]
    lines = [
        "",
        "Lifeboat benchmark summary",
        "==========================",
        "baselines (same run):",
        f"  scikit-learn predict_proba, 1-row DataFrame: "
        f"{base['sklearn_predict_proba_1row_p50_ms']} ms p50",
        f"  lean predict_proba_rows, 1 row:              "
        f"{base['lean_predict_proba_rows_1row_p50_ms']} ms p50 "
        f"(lean scorer {'on' if base['lean_scorer'] else 'OFF'})",
        f"  raw Celery no-op round trip, {base['celery_noop_threads']} threads:   "
        f"{base['celery_noop_tasks_per_s']} tasks/s ({base['celery_noop_errors']} errors)",
        f"  raw Celery no-op round trip, 1 thread:     "
        f"p50 {base.get('celery_noop_1_p50_ms')} ms, p99 {base.get('celery_noop_1_p99_ms')} ms",
    ]
    for doc in documents:
        f = doc["figures"]
        name = doc["scenario"]
        if name == "limits":
            noop = base["celery_noop_tasks_per_s"] or 1.0
            lines.append(
                f"{name}: rate limiting off {f['jobs_per_s_off']} jobs/s "
                f"({f['jobs_per_s_off'] / noop:.2f}x no-op), on {f['jobs_per_s_on']} jobs/s "
                f"({f['jobs_per_s_on'] / noop:.2f}x no-op): {f['ratio_on_to_off']}x; "
                f"p99 {f['p99_ms_off']} / {f['p99_ms_on']} ms; "
                f"errors {f['errors_off']} / {f['errors_on']}"
            )
        elif name == "shadow":
            lines.append(
                f"{name}: no shadow {f['jobs_per_s_off']} jobs/s, p99 {f['p99_ms_off']} ms; "
                f"shadow on the reports worker {f['jobs_per_s_ratio_reports_to_off']}x jobs/s, "
                f"{f['p99_ms_ratio_reports_to_off']}x p99; on the scoring worker "
                f"{f['jobs_per_s_ratio_scoring_to_off']}x jobs/s, "
                f"{f['p99_ms_ratio_scoring_to_off']}x p99 (medians of {f['rounds']} rounds); "
                f"shadow backlog at the end of each run: reports {f['shadow_backlog_reports']}, "
                f"scoring {f['shadow_backlog_scoring']}"
            )
            for mode in ("off", "reports", "scoring"):
                ms = f[f"cpu_ms_per_job_{mode}"]
                lines.append(
                    f"  {mode}: CPU ms per job "
                    + ", ".join(f"{part} {value}" for part, value in ms.items())
                    + f"; {f[f'redis_commands_per_job_{mode}']} Redis commands per job"
                )
        elif name == "turnaround":
            noop_rate = base["celery_noop_tasks_per_s"] or 1.0
            noop_p50 = base.get("celery_noop_1_p50_ms") or 1.0
            for run_name, r in f["runs"].items():
                around = r.get("noop")  # measured around the run (the ratios' base)
                rate = around["tasks_per_s"] if around else noop_rate
                p50 = around["p50_ms"] if around else noop_p50
                lines.append(
                    f"{name} {run_name}: {r['jobs_per_s']} jobs/s "
                    f"({r['jobs_per_s'] / rate:.2f}x no-op), p50 {r['p50_ms']} ms "
                    f"({(r['p50_ms'] or 0) / p50:.2f}x no-op p50), p99 {r['p99_ms']} ms, "
                    f"errors {r['errors']}"
                )
                if around and "slices" in around:  # pooled over slices between its own
                    lines.append(
                        f"  in {r['slices']} slices; no-op in {around['slices']} slices "
                        f"between them: {around['tasks_per_s']} tasks/s, p50 "
                        f"{around['p50_ms']} ms (slices' p50s {around['slice_p50_ms']})"
                    )
                elif around:
                    lines.append(
                        f"  no-op around it: {around['tasks_per_s']} tasks/s, p50 "
                        f"{around['p50_ms']} ms (before {around['before']}, after "
                        f"{around['after']})"
                    )
                lines.append(f"  per job: {per_job_line(r['per_job'])}")
                if r.get("stages"):  # from the jobs' timestamps: where the turnaround went
                    lines.append(
                        "  stages p50 / p99 ms: "
                        + ", ".join(
                            f"{stage} {v['p50_ms']} / {v['p99_ms']}"
                            for stage, v in r["stages"].items()
                        )
                    )
        elif name == "longpolls":
            lines.append(
                f"{name}: {f['waiters']} waiting: web RSS {f['web_rss_mb_before']} -> "
                f"{f['web_rss_mb_peak']} MB ({f['web_processes']} processes), web CPU "
                f"{f['web_cpu_cores_waiting']} cores; other requests p50 {f['probe_p50_ms']} "
                f"ms, p99 {f['probe_p99_ms']} ms; errors {f['probe_errors']} / "
                f"{f['long_poll_errors']}"
            )
        elif name == "sizes":
            p50 = ", ".join(f"{n}: {v} ms" for n, v in f["p50_ms"].items())
            lines.append(f"{name}: p50 by instances per job {p50}; errors {f['errors']}")
        else:
            line = (
                f"{name}: {f['count']} jobs, {f['clients']} client(s), {f['jobs_per_s']} jobs/s, "
                f"p50 {f['p50_ms']} ms, p90 {f['p90_ms']} ms, p99 {f['p99_ms']} ms, "
                f"errors {f['errors']}"
            )
            if "mean_microbatch_jobs" in f:
                line += f", mean micro-batch {f['mean_microbatch_jobs']} jobs/model call"
            if "api_key" in f:
                line += (
                    f", API key {'on' if f['api_key'] else 'OFF'}, answers rate-limited "
                    f"{f['rate_limited_share']}"
                )
            lines.append(line)
            if f.get("per_job"):
                lines.append(f"  per job: {per_job_line(f['per_job'])}")
    noisy = {
        name: load
        for name, load in [("baselines", base["celery_noop_cpu"]["other_cores_busy"])]
        + [(doc["scenario"], _other_load(doc["figures"])) for doc in documents]
        if load >= NOISE_CORES
    }
    if noisy:
        where = ", ".join(f"{name} {load:g}" for name, load in noisy.items())
        lines.append(f"WARNING: other processes on this machine kept cores busy ({where}): noisy")
    lines.append("targets (issues 3 and 17):")
    for doc in documents:
        for t in doc["targets"]:
            verdict = "PASS" if t["pass"] else "FAIL"
            lines.append(
                f"  [{verdict}] {doc['scenario']:<10} {t['target']:<30} "
                f"{t['value']} (target {t['limit']})"
            )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    p.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="record py-spy profiles of the web and worker processes during throughput in DIR",
    )
    p.add_argument(
        "--train-model",
        action="store_true",
        help="train a fresh model into a temporary directory even if models/ has one",
    )
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    unknown = [n for n in args.scenarios if n not in SCENARIOS]
    if unknown:
        p.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    signal.signal(signal.SIGTERM, _raise_interrupt)
    names = list(dict.fromkeys(args.scenarios)) or list(SCENARIOS)
    options = Options(profile_dir=args.profile)
    try:
        documents = run(names, options, sys.stdout, train=args.train_model)
    except KeyboardInterrupt:
        log.warning("interrupted; the stack is stopped")
        return 130
    sys.stdout.write(summary(documents))
    return 0


if __name__ == "__main__":
    sys.exit(main())
