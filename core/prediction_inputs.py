"""A prediction job's input as its record holds it: one list per feature, and the client ids.

The web writes it (:func:`params`) once the instances are checked; workers read it
(:func:`read`). Columns keep the record small (no key repeated per instance) and go
to the scorer and the prediction log as they are. A record written as a list of
instances (``{"instances": [...]}``, before columns) still reads the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ml.columns import Columns
from ml.schema import ID_FIELD

FEATURES = "features"  # {feature name: [value per instance]}
IDS = "ids"  # [client id or None per instance]
INSTANCES = "instances"  # the older shape: a list of cleaned instances


def params(columns: Columns) -> dict[str, Any]:
    """The job's ``params`` for these checked instances."""
    return {FEATURES: columns.features, IDS: columns.ids}


def read(job_params: dict[str, Any], feature_names: Sequence[str]) -> Columns:
    """The job's instances as columns, whichever shape its record has."""
    if INSTANCES in job_params:
        rows = job_params[INSTANCES]
        return Columns(
            {name: [row[name] for row in rows] for name in feature_names},
            [row.get(ID_FIELD) for row in rows],
        )
    return Columns(job_params[FEATURES], job_params[IDS])
