"""What every report job shares: its failure, where its HTML goes, its row floor, its window."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.timestamps import iso

if TYPE_CHECKING:
    from workers.runtime import Runtime


class ReportError(Exception):
    """The report cannot be built from this data (the job fails with this message)."""


def report_path(rt: Runtime, job_id: str) -> Path:
    return rt.settings.reports_dir / f"{job_id}.html"


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
