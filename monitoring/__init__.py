"""Prometheus metrics (``monitoring.metrics``) and multiprocess setup (``monitoring.multiprocess``).

Import ``monitoring.multiprocess`` and call ``prepare()`` before anything imports
``prometheus_client``: the client picks its value store when it is imported.
"""

__all__ = ["metrics", "multiprocess"]
