"""What every report job shares: its failure, storing its HTML, its row floor, its window."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.storage import storage_of
from core.timestamps import iso
from ml.monitoring.drift import report_html

if TYPE_CHECKING:
    from workers.runtime import Runtime


class ReportError(Exception):
    """The report cannot be built from this data (the job fails with this message)."""


def save_html(rt: Runtime, snapshot: Any, key: str) -> int:
    """Store the snapshot's HTML as ``key`` (whole or not at all); returns its size in bytes."""
    html = report_html(snapshot)
    storage_of(rt.settings).write_bytes(key, html)
    return len(html)


def check_rows(rt: Runtime, n: int, what: str) -> None:
    low = rt.settings.report_min_rows
    if n < low:
        raise ReportError(
            f"only {n} {what} in the window; a report needs at least {low} "
            "(LIFEBOAT_REPORT_MIN_ROWS)"
        )


def window_info(requested: dict, stamps: list[float], *, source: str) -> dict[str, Any]:
    """The window a report read: as requested, and the rows and time span it found."""
    return {
        "source": source,
        "requested": {
            k: (iso(v) if k in ("since", "until") else v)
            for k, v in requested.items()
            if k != "max_rows"
        },
        "rows": len(stamps),
        "first": iso(min(stamps)) if stamps else None,
        "last": iso(max(stamps)) if stamps else None,
    }
