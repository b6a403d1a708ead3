"""Lifeboat's machine-learning package: dataset, feature schema, training, registry, scoring.

Importing the package, ``ml.errors``, ``ml.schema`` or ``ml.registry`` must not
import pandas, numpy or scikit-learn: the web process uses them to validate
requests and list models. Heavy modules are imported explicitly by workers.
"""

from ml.errors import (
    ArtifactIntegrityError,
    DatasetError,
    InvalidInstances,
    MLError,
    ModelNotFound,
    UnsupportedPipeline,
)

__all__ = [
    "ArtifactIntegrityError",
    "DatasetError",
    "InvalidInstances",
    "MLError",
    "ModelNotFound",
    "UnsupportedPipeline",
]
