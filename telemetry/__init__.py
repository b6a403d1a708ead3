"""Prometheus metrics (``telemetry.metrics``) and multiprocess setup (``telemetry.multiprocess``).

Import ``telemetry.multiprocess`` and call ``prepare()`` before anything imports
``prometheus_client``: the client picks its value store when it is imported.
"""

__all__ = ["metrics", "multiprocess"]
