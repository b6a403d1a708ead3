"""How Lifeboat writes a moment in JSON: ISO 8601, UTC, milliseconds (jobs, report windows)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float | None) -> str | None:
    """Epoch seconds → ISO 8601 UTC with milliseconds (``2026-11-26T10:00:00.000Z``)."""
    if ts is None:
        return None
    d = datetime.fromtimestamp(ts, UTC)  # the year padded to 4 digits (strftime does not)
    return (
        f"{d.year:04d}-{d.month:02d}-{d.day:02d}T{d.hour:02d}:{d.minute:02d}:{d.second:02d}."
        f"{int(ts * 1000) % 1000:03d}Z"
    )
