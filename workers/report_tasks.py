"""Celery tasks of the report jobs: not built yet."""
