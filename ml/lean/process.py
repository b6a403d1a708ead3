"""Keeping a scoring process lean: which heavy libraries it holds, and pyarrow's pandas probe.

A process that only scores needs numpy and pyarrow. scikit-learn, scipy and
pandas together add ~200 MB to each process that imports them; scoring worker
processes load models from their lean artifacts and never import them, unless a
model version without one (or a report) needs them.

pyarrow imports pandas (~110 MB) the first time it checks whether an object
handed to it is a pandas one, which ``pa.array`` does on every call. In a
process that has not imported pandas, :func:`keep_pyarrow_from_importing_pandas`
makes that first check find no pandas, so pyarrow never imports it for a check.
pandas itself stays importable: code that imports it works as before, and a
pyarrow call that needs pandas (``to_pandas``, ``Table.from_pandas``) imports it
again then.
"""

from __future__ import annotations

import sys

HEAVY_MODULES = ("sklearn", "scipy", "pandas")  # what a scoring process should not hold


def heavy_modules() -> list[str]:
    """The heavy libraries this process has imported."""
    return [name for name in HEAVY_MODULES if name in sys.modules]


def keep_pyarrow_from_importing_pandas() -> None:
    """Make pyarrow's lazy pandas check find no pandas (if this process has none yet)."""
    if "pandas" in sys.modules:
        return
    import numpy as np
    import pyarrow as pa

    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array(np.zeros(0))  # pyarrow's first pandas check: records "no pandas"
    finally:
        sys.meta_path.remove(finder)


class _NoPandas:
    """An import finder under which ``import pandas`` fails."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas":
            raise ModuleNotFoundError("pandas is kept out of this check", name=name)
