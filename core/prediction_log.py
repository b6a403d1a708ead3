"""The prediction log: a bounded Redis stream of every prediction made, for monitoring.

This module owns it whole: its key (:class:`core.keys.Keys`), the shape of its
entries and their builder (every job type logs through :func:`records`), the
append (:data:`APPEND`, joined into the job store's finishing script, so a job's
predictions are logged exactly once, with its finish), the reader
(:class:`PredictionLog`) and the feedback index's view of it
(:data:`INDEX`, run by :mod:`core.feedback`).

**An entry holds the predictions of one job** (up to :data:`ENTRY_ROWS`; a batch's
sample takes several entries), as columns: one stream entry per job instead of one
per prediction makes finishing a 1000-instance job one ``XADD``, not 1,000. Its
fields are ``rows`` (how many predictions, read by the trimming without decoding
JSON) and ``entry``, the JSON of a :class:`LogRecord`::

    {"job_id": "…", "ts": 1764547200.5, "model_version": "…", "source": "prediction",
     "numbers": [0, 1], "features": {"age": [29.0, null], "sex": ["female", "male"]},
     "prediction": ["survived", "died"],
     "probabilities": {"died": [0.01, 0.9], "survived": [0.99, 0.1]}, "tenant": "acme"}

Every prediction keeps its own id, ``<job id>-<number>`` (the instance's index in
a prediction job, the row number in a batch): feedback joins on it.

A shadow version's outputs (``"shadow": true``) keep the primary job's ``job_id``
and ``numbers``, so the same id names the primary prediction and its shadow: a
comparison report pairs them; feedback and its index follow the primary only.

**Lengths are in predictions (rows), not entries.** ``LIFEBOAT_PREDICTION_LOG_MAXLEN``
is the number of predictions kept: after an append the oldest entries are dropped
while at least that many remain (so the log holds up to one entry more), and
``{prefix}:predlog:rows`` counts them. Windows (``last`` N) count predictions too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import msgspec
import redis

from core import scripts
from core.keys import Keys

ENTRY_ROWS = 1_000  # most predictions in one log entry (a prediction job's largest size)
READ_CHUNK = 100  # entries per read script call (up to 100,000 predictions: a few ms of Redis)
SOURCE_PREDICTION = "prediction"  # logged by a prediction job
SOURCE_BATCH = "batch"  # a batch job's sample

APPEND = scripts.source("predlog_append")  # Lua: append_predictions(log, counter, maxlen, first)
INDEX = scripts.source("predlog_index")  # Lua: index predictions by id (core.feedback)
_READ = scripts.source("predlog_read")


class LogEntry(msgspec.Struct):
    """One logged prediction: a row of a :class:`LogRecord`."""

    prediction_id: str
    model_version: str
    features: dict[str, Any]
    prediction: str
    probabilities: dict[str, float]
    ts: float = 0.0


class LogRecord(msgspec.Struct):
    """One entry of the log: some predictions of one job, as columns of equal length."""

    job_id: str
    model_version: str
    numbers: list[int]  # prediction id = f"{job_id}-{number}"
    features: dict[str, list[Any]]
    prediction: list[str]
    probabilities: dict[str, list[float]]
    ts: float = 0.0
    source: str = SOURCE_PREDICTION
    tenant: str = ""  # of the job: only that tenant may give its predictions feedback
    shadow: bool = False

    def __len__(self) -> int:
        return len(self.numbers)

    def prediction_ids(self) -> list[str]:
        return [f"{self.job_id}-{n}" for n in self.numbers]

    def rows(self, start: int = 0, stop: int | None = None) -> LogRecord:
        """The predictions ``start:stop`` of this entry, as an entry."""
        cut = slice(start, stop)
        return LogRecord(
            job_id=self.job_id,
            model_version=self.model_version,
            numbers=self.numbers[cut],
            features={k: v[cut] for k, v in self.features.items()},
            prediction=self.prediction[cut],
            probabilities={k: v[cut] for k, v in self.probabilities.items()},
            ts=self.ts,
            source=self.source,
            tenant=self.tenant,
            shadow=self.shadow,
        )

    def entries(self) -> list[LogEntry]:
        """The predictions one by one."""
        names = list(self.features)
        labels = list(self.probabilities)
        return [
            LogEntry(
                prediction_id=f"{self.job_id}-{n}",
                model_version=self.model_version,
                features={k: self.features[k][i] for k in names},
                prediction=self.prediction[i],
                probabilities={c: self.probabilities[c][i] for c in labels},
                ts=self.ts,
            )
            for i, n in enumerate(self.numbers)
        ]


def records(
    job_id: str,
    model_version: str,
    *,
    numbers: Sequence[int],
    features: Mapping[str, Sequence[Any]],
    prediction: Sequence[str],
    probabilities: Mapping[str, Sequence[float]],
    source: str = SOURCE_PREDICTION,
    ts: float | None = None,
    tenant: str = "",
) -> list[LogRecord]:
    """The log entries of a job's predictions, given as columns (split every ENTRY_ROWS)."""
    now = time.time() if ts is None else ts
    out = []
    for start in range(0, len(numbers), ENTRY_ROWS):
        cut = slice(start, start + ENTRY_ROWS)
        out.append(
            LogRecord(
                job_id=job_id,
                model_version=model_version,
                numbers=list(numbers[cut]),
                features={k: list(v[cut]) for k, v in features.items()},
                prediction=list(prediction[cut]),
                probabilities={k: list(v[cut]) for k, v in probabilities.items()},
                ts=now,
                source=source,
                tenant=tenant,
            )
        )
    return out


def records_of_rows(
    job_id: str,
    model_version: str,
    rows: Sequence[Mapping[str, Any]],
    *,
    source: str,
    tenant: str = "",
) -> list[LogRecord]:
    """The log entries of predictions given one by one (a batch's sampled rows), each a
    mapping of ``row`` (its number), ``features``, ``prediction`` and ``probabilities``."""
    names = list(rows[0]["features"]) if rows else []
    labels = list(rows[0]["probabilities"]) if rows else []
    return records(
        job_id,
        model_version,
        numbers=[r["row"] for r in rows],
        features={k: [r["features"][k] for r in rows] for k in names},
        prediction=[r["prediction"] for r in rows],
        probabilities={c: [r["probabilities"][c] for r in rows] for c in labels},
        source=source,
        tenant=tenant,
    )


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(list[LogRecord])


def append_args(log_records: Sequence[LogRecord]) -> list[Any]:
    """The ARGV tail :data:`APPEND` reads: a (rows, entry JSON) pair per record."""
    args: list[Any] = []
    for record in log_records:
        args += [len(record), _encoder.encode(record)]
    return args


@dataclass
class LogWindow:
    """Logged predictions of one model version (or all), oldest first."""

    records: list[LogRecord]
    scanned: int  # predictions read to find them (all versions)
    newest_id: str | None  # stream id of the newest entry read

    def __len__(self) -> int:
        return sum(len(r) for r in self.records)

    def entries(self) -> list[LogEntry]:
        """The predictions one by one (oldest first)."""
        return [e for r in self.records for e in r.entries()]


class PredictionLog:
    """Reading windows of the log, fast.

    redis-py parses a large ``XREVRANGE`` reply in pure Python; the read script instead
    returns a chunk as one flat array of the entries' JSON, which msgspec decodes at C
    speed, while a helper thread already fetches the next chunk.
    """

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.redis = client
        self.key = keys.prediction_log
        self.rows_key = keys.prediction_log_rows
        self._read = client.register_script(_READ)

    def length(self) -> int:
        """Predictions in the log."""
        return int(self.redis.get(self.rows_key) or 0)

    def chunks(
        self, *, newest: str = "+", oldest: str = "-", chunk: int = READ_CHUNK
    ) -> Iterator[tuple[str, list[LogRecord]]]:
        """Yield (newest stream id of the chunk, its entries newest first), newest first."""

        def fetch(top: str) -> list[bytes]:
            return self._read(keys=[self.key], args=[top, oldest, chunk])

        with ThreadPoolExecutor(1, thread_name_prefix="predlog") as pool:
            reply = fetch(newest)
            while reply:
                first, last, raw = _text(reply[0]), _text(reply[1]), reply[2:]
                ahead = pool.submit(fetch, f"({last}") if len(raw) >= chunk else None
                yield first, _decoder.decode(b"[" + b",".join(raw) + b"]")
                reply = ahead.result() if ahead is not None else []

    def window(
        self,
        *,
        version: str | None,
        last: int | None = None,
        since: float | None = None,
        until: float | None = None,
        max_rows: int | None = None,
        after: str | None = None,
    ) -> LogWindow:
        """The last ``last`` predictions of ``version`` (all versions when None), or those
        logged between ``since`` and ``until`` (epoch seconds; at most ``max_rows``);
        only entries newer than the stream id ``after`` when given."""
        newest = f"{int(until * 1000)}" if until is not None else "+"
        oldest = f"{int(since * 1000)}" if since is not None else "-"
        if after is not None:
            oldest = f"({after}"
        want = last if last is not None else max_rows
        picked: list[LogRecord] = []
        rows = scanned = 0
        newest_id: str | None = None
        for first_id, chunk in self.chunks(newest=newest, oldest=oldest):
            newest_id = newest_id or first_id
            for record in chunk:
                scanned += len(record)
                if version is not None and record.model_version != version:
                    continue
                take = record
                if want is not None and rows + len(record) > want:
                    take = record.rows(len(record) - (want - rows))  # its newest rows
                picked.append(take)
                rows += len(take)
                if want is not None and rows >= want:
                    break
            if want is not None and rows >= want:
                break
        picked.reverse()
        return LogWindow(picked, scanned, newest_id)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
