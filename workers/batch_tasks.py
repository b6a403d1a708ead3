"""Celery tasks of the batch jobs: not built yet."""
