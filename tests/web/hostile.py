"""Hostile data the served-content tests upload: a report CSV with script in a category."""

from __future__ import annotations

import csv
import io

from tests.payloads import passengers

FEATURES = ("pclass", "sex", "age", "sibsp", "parch", "fare", "embarked")
# what the data tries: leave a mark in the API origin's storage, and show an alert
MARK = "lifeboat-xss-mark"  # unique: found nowhere else in a report
PAYLOAD = (
    "</script><script>"
    f"localStorage.setItem('{MARK}', document.domain); alert(document.domain)"
    "</script>"
)
HOSTILE_ROWS = 20  # rows of the report CSV whose ``embarked`` is the payload


def report_csv(rows: int = 200) -> bytes:
    """Passengers whose first ``HOSTILE_ROWS`` have the payload as their port of embarkation."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(FEATURES)
    for i, p in enumerate(passengers(rows)):
        values = [p[k] for k in FEATURES]
        if i < HOSTILE_ROWS:
            values[-1] = PAYLOAD
        writer.writerow(values)
    return buf.getvalue().encode()
