"""The monitoring window: the newest logged predictions in columnar form, kept in Redis.

Drift checks and drift reports compute on the last tens of thousands of logged
predictions. Reading them from the log each time means decoding every JSON entry
again (~0.6 s for 100,000). Instead the newest ``LIFEBOAT_MONITORING_WINDOW_ROWS``
entries (all model versions) live at ``{prefix}:monitoring:window`` as a
:class:`~workers.monitoring.columns.LogColumns` blob with the stream id of the newest entry
read. :func:`current` loads it, decodes only the log entries newer than that id,
appends them, keeps the newest rows and writes it back: a scheduled check then
reads what was logged since the previous one, not the whole window.

Two workers catching up at once both write a complete, consistent blob (SET is
atomic); the later one wins. A blob of another layout (a model version installed
with new features) or an unreadable one is rebuilt from the log.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workers.monitoring import data
from workers.monitoring.columns import Layout, LogColumns
from workers.monitoring.log import gc_paused

if TYPE_CHECKING:
    from workers.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass
class Catchup:
    """The window after catching up, and what it took."""

    columns: LogColumns
    read_entries: int  # predictions decoded to catch up (from one log entry per job)
    rebuilt: bool  # read from the log from scratch
    seconds: float


def window_key(rt: Runtime) -> str:
    return rt.keys.monitoring_window


def capacity(rt: Runtime) -> int:
    """Rows kept: enough for the scheduled check's window and the reports' default."""
    s = rt.settings
    return max(s.monitoring_window_rows, s.drift_check_window)


def layout(rt: Runtime) -> Layout:
    """The union of the installed model versions' feature kinds and class labels."""
    kinds = []
    for version in rt.registry.versions():
        types = data.column_types(rt, version)
        labels = rt.registry.card(version)["class_labels"]
        kinds.append((types.numerical, types.categorical, labels))
    return Layout.union(kinds)


def current(rt: Runtime) -> Catchup:
    """The window, caught up with the log (and written back when it grew)."""
    started = time.perf_counter()
    want = layout(rt)
    keep = capacity(rt)
    stored = _load(rt, want)
    prediction_log = data.prediction_log(rt)
    with gc_paused():
        if stored is None:
            window = prediction_log.window(version=None, last=keep)
            columns = LogColumns.from_records(window.records, want, window.newest_id)
        else:
            window = prediction_log.window(version=None, last=keep, after=stored.newest_id)
            newer = LogColumns.from_records(window.records, want, window.newest_id)
            columns = stored.append(newer, keep) if len(newer) else stored
        read = len(window)  # predictions
        window.records.clear()
    if stored is None or read:
        rt.redis.set(window_key(rt), columns.encode(), ex=rt.settings.job_ttl_seconds)
    return Catchup(columns, read, stored is None, time.perf_counter() - started)


def _load(rt: Runtime, want: Layout) -> LogColumns | None:
    blob = rt.redis.get(window_key(rt))
    if blob is None:
        return None
    try:
        columns = LogColumns.decode(blob)
    except (ValueError, KeyError, TypeError):
        log.warning("unreadable monitoring window in Redis: rebuilding it from the log")
        return None
    if columns.layout != want:
        log.info("the installed model versions changed the window's layout: rebuilding it")
        return None
    return columns
