"""Leases in workers: the heartbeat of long-running work, and beat's sweeper of expired leases."""

__all__ = ["heartbeat", "sweep", "tasks"]
