"""The dataset spec (``ml.data.spec``, the only dataset-specific module) and loading it."""

__all__ = ["loading", "spec"]
