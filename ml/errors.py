"""Errors raised by the ``ml`` package (standard library only).

The web process imports this module, so it must stay free of heavy imports.
"""

from __future__ import annotations


class MLError(Exception):
    """Base class of every error raised by the ``ml`` package."""


class ModelNotFound(MLError):
    """No model is installed, or the requested model version is unknown or malformed."""


class ArtifactIntegrityError(MLError):
    """A model artifact is missing, unreadable, or differs from its recorded sha256."""


class VersionRefused(MLError):
    """A model version folder failed a registration check (hash, types, lean scorer)."""


class DatasetError(MLError):
    """A dataset file cannot be used: unreadable, wrong checksum, missing or bad columns."""


class UnsupportedPipeline(MLError):
    """A fitted pipeline contains a step the lean scorer cannot reproduce."""


class InvalidInstances(MLError):
    """Instances submitted for prediction do not match the feature schema.

    ``errors`` lists every problem found, each ``{"loc": [...path...], "msg": str}``.
    """

    def __init__(self, errors: list[dict]) -> None:
        self.errors = errors
        count = len(errors)
        super().__init__(f"{count} invalid field{'s' if count != 1 else ''}")
