"""Lifeboat's benchmark suite: ``python -m bench [scenario ...]`` (``make bench``).

It starts a private stack (Redis, a Celery worker, the gunicorn web), measures
the baselines (the model call alone, a raw Celery no-op round trip) and runs the
scenarios with a load generator in its own process. Numbers are printed and
written to ``bench/results/``; nothing here asserts on time.
"""

__all__: list[str] = []
