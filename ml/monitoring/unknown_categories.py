"""Categorical values the model's schema does not know, replaced by one placeholder and counted.

An uploaded CSV (a report's current data) is anyone's text. Evidently writes
the categories it sees into the report's HTML, inside its scripts' data: a
value such as ``</script><script>…`` would end up in the page as markup. So
before a report is built, every value of a categorical column that is not
one of the schema's categories becomes :data:`PLACEHOLDER`, and how many were
replaced, per column, goes into the report's JSON summary. The report still
shows them (as one new category, which is drift) but never their text.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ml.schema import FeatureSchema

PLACEHOLDER = "(unknown)"  # plain text: nothing in it means anything to HTML or JavaScript


def known_categories(schema: FeatureSchema) -> dict[str, list[str]]:
    """Each categorical feature's categories."""
    return {f.name: list(f.categories or []) for f in schema.features if f.kind == "categorical"}


def replace_unknown(
    frame: pd.DataFrame, categories: dict[str, Iterable[str]]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """``frame`` with unknown categorical values replaced, and their count per column.

    Missing values stay missing; columns absent from ``frame`` are skipped.
    """
    out = frame.copy()
    counts: dict[str, int] = {}
    for name, known in categories.items():
        if name not in out:
            continue
        column = out[name]
        unknown = column.notna() & ~column.isin(list(known))
        counts[name] = int(unknown.sum())
        if counts[name]:
            out[name] = column.where(~unknown, PLACEHOLDER)
    return out, counts
