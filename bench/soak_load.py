"""The soak's load, run as its own process: ``python -m bench.soak_load --url URL --out FILE ...``.

Open loop (gevent greenlets, one keep-alive connection each): single-row
prediction jobs at ``--rate`` a second on a fixed schedule, a small batch (CSV
body) every ``--batch-every`` seconds and a drift report every
``--report-every`` seconds, for ``--seconds``. Only submits: every accepted job's
id (and its type) is written to ``--out``, one JSON line each, so the soak can
check that each one reaches a terminal state (each line is written and flushed as its
answer comes: the soak reads the file as it grows). Prints one JSON summary line:
answers by status and the submission latency percentiles.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("bench.soak_load")

CLIENTS = 48  # greenlets sharing the prediction schedule (a slow answer delays no other)
BATCH_ROWS = 20  # rows of each small batch
REPORT_WINDOW = 1000  # predictions a drift report compares with the reference data
REPORTS_AFTER = 30.0  # seconds before the first report: the prediction log needs rows
HTTP_TIMEOUT = 30.0  # seconds a submission may take before it counts as an error
LOOPBACK = "127.0.0.1"
BATCH_HEADER = "passenger,pclass,sex,age,sibsp,parch,fare,embarked"


@dataclass
class Tally:
    """What the load sent and was answered."""

    statuses: dict[str, dict[str, int]] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)  # prediction submissions, seconds
    out: Any = None  # the open file each accepted job is written to at once
    accepted: int = 0

    def count(self, kind: str, status: str) -> None:
        by_kind = self.statuses.setdefault(kind, {})
        by_kind[status] = by_kind.get(status, 0) + 1


class Client:
    """One keep-alive connection; or a new one for each request (``keep_alive=False``), for
    a client that sends a request every few seconds, longer than the web keeps an idle one."""

    def __init__(self, host: str, port: int, api_key: str, *, keep_alive: bool = True) -> None:
        self.host, self.port, self.keep_alive = host, port, keep_alive
        connection = "keep-alive" if keep_alive else "close"
        self.headers = {"Authorization": f"Bearer {api_key}", "Connection": connection}
        self.conn: Any = None

    def post(self, path: str, body: bytes, content_type: str) -> tuple[int, dict[str, Any]]:
        import http.client

        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=HTTP_TIMEOUT)
        try:
            self.conn.request("POST", path, body, {**self.headers, "Content-Type": content_type})
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        if not self.keep_alive:
            self.conn.close()
            self.conn = None
        try:
            return resp.status, json.loads(data) if data else {}
        except ValueError:
            return resp.status, {}

    def submit(self, tally: Tally, kind: str, path: str, body: bytes, content_type: str) -> None:
        import http.client

        start = time.perf_counter()
        try:
            status, payload = self.post(path, body, content_type)
        except (OSError, http.client.HTTPException) as exc:
            tally.count(kind, type(exc).__name__)
            return
        if kind == "prediction":
            tally.latencies.append(time.perf_counter() - start)
        tally.count(kind, str(status))
        if status in (200, 202) and payload.get("id"):
            tally.accepted += 1
            tally.out.write(json.dumps({"type": kind, "id": payload["id"]}) + "\n")
            tally.out.flush()  # the soak reads the file while the load runs


def passenger(rng: random.Random) -> dict[str, Any]:
    from bench.instances import random_instance

    return random_instance(rng)


def batch_body(rng: random.Random, n: int) -> bytes:
    lines = [BATCH_HEADER]
    for i in range(n):
        p = passenger(rng)
        cells = [p["pclass"], p["sex"], p["age"], p["sibsp"], p["parch"], p["fare"], p["embarked"]]
        lines.append(",".join(map(str, [f"p{i}", *cells])))
    return ("\n".join(lines) + "\n").encode()


def every(period: float, first: float, until: float, action) -> None:  # type: ignore[no-untyped-def]
    """Call ``action()`` at ``first`` and every ``period`` seconds after, until ``until``."""
    due = first
    while due < until:
        time.sleep(max(0.0, due - time.perf_counter()))
        action()
        due += period


def run(args: argparse.Namespace, out: Any) -> Tally:
    import gevent

    url = urlsplit(args.url)
    host, port = url.hostname or LOOPBACK, url.port or 80
    tally = Tally(out=out)
    rng = random.Random(args.seed)
    bodies = [json.dumps({"instances": [passenger(rng)]}).encode() for _ in range(256)]
    begin = time.perf_counter()
    until = begin + args.seconds
    slots = iter(range(10**9))

    def predictions() -> None:
        client = Client(host, port, args.api_key)
        for i in slots:
            due = begin + i / args.rate
            if due >= until:
                return
            time.sleep(max(0.0, due - time.perf_counter()))
            client.submit(
                tally, "prediction", "/api/v1/predictions", bodies[i % 256], "application/json"
            )

    batches = Client(host, port, args.api_key, keep_alive=False)
    reports = Client(host, port, args.api_key, keep_alive=False)
    report_body = json.dumps({"type": "drift", "window": {"last": REPORT_WINDOW}}).encode()

    def batch() -> None:
        body = batch_body(rng, BATCH_ROWS)
        batches.submit(tally, "batch", "/api/v1/batches?id_column=passenger", body, "text/csv")

    def report() -> None:
        reports.submit(tally, "drift_report", "/api/v1/reports", report_body, "application/json")

    greenlets = [gevent.spawn(predictions) for _ in range(CLIENTS)]
    greenlets.append(gevent.spawn(every, args.batch_every, begin + 1.0, until, batch))
    greenlets.append(gevent.spawn(every, args.report_every, begin + REPORTS_AFTER, until, report))
    gevent.joinall(greenlets, timeout=args.seconds + HTTP_TIMEOUT + 15)
    gevent.killall([g for g in greenlets if not g.dead], timeout=5)
    return tally


def main(argv: list[str] | None = None) -> int:
    from gevent import monkey

    monkey.patch_all()
    from bench.stats import percentiles_ms

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    p = argparse.ArgumentParser(
        prog="python -m bench.soak_load", description=__doc__.splitlines()[0]
    )
    p.add_argument("--url", required=True, help="base URL of the web")
    p.add_argument("--out", required=True, help="file for the accepted jobs, one JSON line each")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--rate", type=float, default=200.0, help="prediction jobs a second")
    p.add_argument("--batch-every", type=float, default=5.0, help="seconds between batches")
    p.add_argument("--report-every", type=float, default=30.0, help="seconds between reports")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--api-key", default=os.environ.get("LIFEBOAT_API_KEY", ""))
    args = p.parse_args(argv)
    started = time.perf_counter()
    with open(args.out, "w", encoding="utf-8") as out:
        tally = run(args, out)
    predictions = sum(tally.statuses.get("prediction", {}).values())
    summary = {
        "seconds": round(time.perf_counter() - started, 1),
        "answers": tally.statuses,
        "accepted": tally.accepted,
        "prediction_submissions_per_s": round(predictions / args.seconds, 1),
        "submit_latency": percentiles_ms(tally.latencies),
    }
    json.dump(summary, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
