"""Model monitoring numbers: data drift, measured performance, label-free accuracy estimates."""

__all__ = ["drift", "estimation", "performance"]
