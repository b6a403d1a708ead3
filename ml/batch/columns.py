"""Names of the scored file's own columns (standard library only: the web checks uploads)."""

from __future__ import annotations

from collections.abc import Sequence

ROW_COLUMN = "row"  # the input line number, when no id column is named
PREDICTION_COLUMN = "prediction"
ERROR_COLUMN = "error"  # why a row was not scored (empty when it was)
PROBA_PREFIX = "proba_"  # followed by a class label


def reserved_columns(class_labels: Sequence[str], *, with_row: bool) -> set[str]:
    """Output column names an input column may not carry through."""
    names = {PREDICTION_COLUMN, ERROR_COLUMN, *(PROBA_PREFIX + c for c in class_labels)}
    return names | {ROW_COLUMN} if with_row else names
