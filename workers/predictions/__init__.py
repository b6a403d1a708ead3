"""Prediction jobs: the task, micro-batched scoring, and the safety net for stranded jobs."""

__all__ = ["scoring", "stale", "tasks"]
