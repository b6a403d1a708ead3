"""Reading a histogram's sum and count from a Prometheus endpoint."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families

SCRAPE_TIMEOUT = 5.0  # seconds


def histogram_totals(url: str, name: str) -> tuple[float, float]:
    """``(sum, count)`` of histogram ``name`` over all its label sets."""
    with urllib.request.urlopen(url, timeout=SCRAPE_TIMEOUT) as resp:
        text = resp.read().decode()
    total, count = 0.0, 0.0
    for family in text_string_to_metric_families(text):
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_sum":
                total += sample.value
            elif sample.name == f"{name}_count":
                count += sample.value
    return total, count
