"""Operational entry points (``make run``)."""
