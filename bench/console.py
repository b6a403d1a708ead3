"""Console page loads with 1,000 jobs: ``python -m bench.console [--jobs 1000] [--rounds 7]``.

Starts a private stack (Redis, gunicorn, a worker), makes ``--jobs`` prediction jobs
(and one batch, one drift report), signs in once in Debian's chromium and then, round
after round, opens every console page in the same tab, timing from the start of the
navigation (``performance.now()``) until the page shows its data: the jobs page its
first 50 rows, "all jobs" every row (paging through the list), the predict page its
form, the models page its card and health. Baselines in the same rounds: the sign-in
page (no API call: the cost of the shell, its files and Alpine), Swagger UI at
``/docs`` (a page the platform already served), and the JSON of ``GET /api/v1/jobs``
fetched by Python. It prints medians, p90s and ratios to the sign-in page, and the
target (300 ms) beside each page; it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

from devsupport import make_stack, start_redis
from devsupport.browser import chromium_installed, launch

TARGET_MS = 300.0  # a page shows its data within this, with 1,000 jobs in the list
LIST_PAGE = 50  # rows the jobs page shows before "Older jobs"
SETTLE_MS = 100  # ms on an empty page before each measurement
ALL_JOBS = "jobs, all 1,000"  # the first 50, then "Older jobs" (200 more) until every job
PASSENGER = {
    "pclass": 1,
    "sex": "female",
    "age": 29.0,
    "sibsp": 0,
    "parch": 0,
    "fare": 80.0,
    "embarked": "S",
}

# page -> (path, JavaScript condition true once it shows its data)
PAGES: dict[str, tuple[str, str]] = {
    "signin (baseline)": (
        "/console/signin",
        "document.querySelector('[x-data=signin]')?._x_dataStack",
    ),
    "swagger ui (baseline)": ("/docs", "document.querySelector('.swagger-ui .info')"),
    "jobs": (
        "/console/jobs",
        f"document.querySelectorAll('tr[data-job-id]').length >= {LIST_PAGE}",
    ),
    "job": ("/console/jobs/{job}", "document.querySelector('#job-status')?.textContent"),
    "predict": ("/console/predict", "document.querySelector('#field-fare')"),
    "batches": (
        "/console/batches",
        "document.querySelectorAll('#batch-version option').length > 1",
    ),
    "reports": ("/console/reports", "document.querySelectorAll('#report-version option').length"),
    "models": ("/console/models", "document.querySelector('article.model table.drift')"),
}


def ready_at(page: Any, condition: str) -> float:
    """``performance.now()`` (ms since the navigation started) when ``condition`` held."""
    handle = page.wait_for_function(
        f"() => ({condition}) ? performance.now() : false", polling="raf", timeout=30_000
    )
    return float(handle.json_value())


def settle(page: Any) -> None:
    """Start each measurement from an empty page: the previous page's teardown (Swagger
    UI's megabyte of script, a 1,000-row table) is not counted in the next one."""
    page.goto("about:blank")
    page.wait_for_timeout(SETTLE_MS)


def open_page(page: Any, url: str, condition: str) -> float:
    settle(page)
    page.goto(url, wait_until="commit")
    return ready_at(page, condition)


def all_jobs(page: Any, url: str, total: int) -> float:
    """ms until the jobs page lists ``total`` rows, pressing "Older jobs" as a person would."""
    settle(page)
    page.goto(url, wait_until="commit")
    rows = "document.querySelectorAll('tr[data-job-id]').length"
    ready_at(page, f"{rows} >= {LIST_PAGE}")
    while (shown := page.locator("tr[data-job-id]").count()) < total:
        page.get_by_role("button", name="Older jobs").click()
        ready_at(page, f"{rows} > {shown}")
    return float(page.evaluate("performance.now()"))


def make_jobs(stack: Any, n: int, workdir: Path) -> str:
    """``n`` prediction jobs (one request each), one batch, one drift report; the last id."""
    session = requests.Session()
    session.headers.update(stack.http.headers)
    job = ""
    for i in range(n - 2):
        r = session.post(
            stack.url("/api/v1/predictions"), json={"instances": [{**PASSENGER, "age": i % 80}]}
        )
        r.raise_for_status()
        job = r.json()["id"]
    rows = "\n".join(f"{i % 3 + 1},male,{i % 70},0,0,{i % 90},S" for i in range(2000))
    body = "pclass,sex,age,sibsp,parch,fare,embarked\n" + rows
    r = session.post(stack.url("/api/v1/batches"), data=body, headers={"Content-Type": "text/csv"})
    r.raise_for_status()
    r = session.post(
        stack.url("/api/v1/reports?wait=30"), json={"type": "drift", "window": {"last": 500}}
    )
    r.raise_for_status()
    return job


def api_ms(stack: Any) -> float:
    started = time.perf_counter()
    stack.http.get(stack.url(f"/api/v1/jobs?limit={LIST_PAGE}"), timeout=10).raise_for_status()
    return (time.perf_counter() - started) * 1000


def measure(stack: Any, job: str, jobs: int, rounds: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {name: [] for name in [*PAGES, ALL_JOBS, "GET /api/v1/jobs"]}
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
        page.goto(stack.url("/console/signin"))
        page.get_by_label("API key").fill(stack.admin_key)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/console/jobs")
        for path, condition in PAGES.values():  # warm-up: each file fetched once
            open_page(page, stack.url(path.format(job=job)), condition)
        for _ in range(rounds):  # alternating: every page once a round
            for name, (path, condition) in PAGES.items():
                times[name].append(open_page(page, stack.url(path.format(job=job)), condition))
            times[ALL_JOBS].append(all_jobs(page, stack.url("/console/jobs"), jobs))
            times["GET /api/v1/jobs"].append(api_ms(stack))
        browser.close()  # type: ignore[attr-defined]
    return times


def summary(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    """Median and p90 of each page, and the median of its ratios to the sign-in page of
    the same round (a round's pages share the machine's load of that moment)."""
    base = times["signin (baseline)"]
    out = {}
    for name, values in times.items():
        ordered = sorted(values)
        out[name] = {
            "median_ms": round(statistics.median(ordered), 1),
            "p90_ms": round(ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))], 1),
            "x_signin": round(
                statistics.median([v / b for v, b in zip(values, base, strict=True)]), 2
            ),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    if not chromium_installed():
        print("chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    models = Path(os.environ.get("LIFEBOAT_MODELS_DIR", "models")).resolve()
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        workdir = Path(tmp)
        redis_server = start_redis(workdir / "redis")
        stack = make_stack(
            redis_server,
            0,
            models,
            workdir,
            LIFEBOAT_DRIFT_CHECK_INTERVAL_SECONDS="2",
            LIFEBOAT_DRIFT_CHECK_MIN_ROWS="50",
        )
        try:
            stack.start_worker()
            stack.start_web()
            stack.start_beat()
            job = make_jobs(stack, args.jobs, workdir)
            times = measure(stack, job, args.jobs, args.rounds)
        finally:
            stack.stop_all()
            redis_server.proc.stop()
    figures = summary(times)
    print(
        json.dumps(
            {
                "scenario": "console",
                "jobs": args.jobs,
                "rounds": args.rounds,
                "target_ms": TARGET_MS,
                "pages": figures,
            }
        )
    )
    print(
        f"\nconsole page loads, {args.jobs} jobs, {args.rounds} rounds (median / p90 ms, "
        "median of x the same round's sign-in page):"
    )
    for name, f in figures.items():
        verdict = (
            ""
            if "baseline" in name or name.startswith("GET")
            else ("  ok" if f["median_ms"] < TARGET_MS else "  OVER 300 ms")
        )
        print(
            f"  {name:<24} {f['median_ms']:>8.1f} {f['p90_ms']:>8.1f}"
            f"  {f['x_signin']:>5.2f}x{verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
