"""Batch jobs: planning a file into parts, scoring parts, merging, sweeping old files."""

__all__ = ["formats", "jobs", "memory", "tasks"]
