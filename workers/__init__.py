"""Celery workers: the app (``workers.celery_app``), thin tasks, and the code they call."""

__all__ = ["celery_app"]
