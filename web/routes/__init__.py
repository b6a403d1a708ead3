"""One blueprint per resource."""

__all__ = ["docs", "jobs", "models", "ops", "predictions"]
