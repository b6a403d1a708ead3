"""Model monitoring numbers: data drift, measured performance, label-free accuracy estimates,
two model versions compared."""

__all__ = ["comparison", "drift", "estimation", "performance"]
