"""The traffic policy in the workers: the canary's guard (counts and the scheduled check)."""

__all__ = ["guard", "tasks"]
