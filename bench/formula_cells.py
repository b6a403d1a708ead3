"""``python -m bench.formula_cells``: the scored-CSV writer with and without formula escaping.

The writer alone: the same 1M scored rows (id and two carried-through text
columns, a prediction, two probabilities, an error; three kinds of text cells,
see :func:`scored_table`) in the chunks a batch part writes, through pyarrow's
CSV writer alone (before) and through :class:`ml.batch.formulas.FormulaSafeWriter`
(after), alternating, best of ``REPEATS``. Then a whole part: a 1M-row CSV
scored by :func:`ml.batch.parts.score_part` (a model trained for the run) with
each writer. One JSON line per measurement, with the after/before ratio.
"""

from __future__ import annotations

import csv
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from ml.batch.formulas import FormulaSafeWriter

ROWS = 1_000_000
CHUNK_ROWS = 5_000  # about what a 256 KB block of a Titanic-like CSV holds
REPEATS = 3
RISKY_SHARE = 0.01  # text cells starting with =, +, -, @


def scored_table(rows: int, kind: str, seed: int = 0) -> pa.Table:
    """Scored rows whose text cells are all plain (``clean``), 1 % negative numbers in
    one column (``numbers``), or that and 1 % formulas in another (``formulas``)."""
    rng = np.random.default_rng(seed)
    ids = np.char.add("p", np.arange(rows).astype(str))
    names = np.char.add("Passenger ", rng.integers(0, 10_000, rows).astype(str))
    tickets = rng.integers(100_000, 999_999, rows).astype(str).astype(object)
    names = names.astype(object)
    if kind in ("numbers", "formulas"):
        names[rng.random(rows) < RISKY_SHARE] = "-1.5"  # a number: left alone
    if kind == "formulas":
        tickets[rng.random(rows) < RISKY_SHARE] = "=HYPERLINK(1)"
    proba = rng.random(rows)
    return pa.table(
        {
            "passenger_id": pa.array(ids.tolist(), pa.string()),
            "name": pa.array(names.tolist(), pa.string()),
            "ticket": pa.array(tickets.tolist(), pa.string()),
            "prediction": pa.array(np.where(proba > 0.5, "survived", "died").tolist()),
            "proba_died": 1 - proba,
            "proba_survived": proba,
            "error": pa.nulls(rows, pa.string()),
        }
    )


def write(table: pa.Table, path: Path, *, escape: bool) -> float:
    started = time.perf_counter()
    options = pacsv.WriteOptions(include_header=False, quoting_style="needed")
    with path.open("wb") as sink:
        raw = pacsv.CSVWriter(sink, table.schema, write_options=options)
        writer = FormulaSafeWriter(raw, ["passenger_id", "name", "ticket"]) if escape else raw
        for start in range(0, table.num_rows, CHUNK_ROWS):
            writer.write_table(table.slice(start, CHUNK_ROWS))
        writer.close()
    return time.perf_counter() - started


def score_part_seconds(rows: int) -> dict[str, float]:
    """Best time of scoring a ``rows``-line CSV as one part, with each writer."""
    from bench.batch import write_input
    from ml.batch import parts
    from ml.batch.chunks import ChunkScorer
    from ml.data.spec import TITANIC
    from ml.registry import Registry
    from ml.train import train

    escaping = parts.part_writer

    def raw_writer(sink, scorer):  # type: ignore[no-untyped-def]
        return escaping(sink, scorer)._writer

    times: dict[str, list[float]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train(TITANIC, None, root / "models", seed=42, version="bench", set_default=True)
        model = Registry(root / "models").load(None)
        source = root / "in.csv"
        write_input(source, rows)
        with source.open("rb") as f:
            header = f.readline()
        columns = next(csv.reader([header.decode()]))
        part = parts.Part(0, len(header), source.stat().st_size, 0)
        scorer = ChunkScorer(model, "passenger_id", [])
        for _ in range(REPEATS):
            for name, writer in (("before", raw_writer), ("after", escaping)):
                parts.part_writer = writer
                started = time.perf_counter()
                with (root / "out.csv").open("wb") as sink:
                    parts.score_part(
                        scorer,
                        source,
                        columns,
                        part,
                        sink,
                        chunk_bytes=256 << 10,
                        max_decoded_bytes=1 << 30,
                    )
                times[name].append(time.perf_counter() - started)
        parts.part_writer = escaping
    return {name: min(values) for name, values in times.items()}


def main() -> None:
    for kind in ("clean", "numbers", "formulas"):
        table = scored_table(ROWS, kind)
        times: dict[str, list[float]] = {"before": [], "after": []}
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "part.csv"
            for _ in range(REPEATS):
                times["before"].append(write(table, path, escape=False))
                times["after"].append(write(table, path, escape=True))
        before, after = min(times["before"]), min(times["after"])
        figures = {
            "cells": kind,
            "rows": ROWS,
            "chunk_rows": CHUNK_ROWS,
            "before_seconds": round(before, 3),
            "after_seconds": round(after, 3),
            "after_over_before": round(after / before, 3),
        }
        print(json.dumps(figures))
    part = score_part_seconds(ROWS)
    ratio = part["after"] / part["before"]
    print(
        json.dumps(
            {
                "score_part_rows": ROWS,
                "before_seconds": round(part["before"], 3),
                "after_seconds": round(part["after"], 3),
                "after_over_before": round(ratio, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
