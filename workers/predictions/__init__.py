"""Prediction jobs: the task and micro-batched scoring."""

__all__ = ["scoring", "tasks"]
