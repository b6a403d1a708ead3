"""Model monitoring in the reports worker: drift checks, reports, accuracy from feedback.

"Monitoring" in this project means watching the model (drift, accuracy); Prometheus
metrics of the processes are ``telemetry``.
"""

__all__ = ["accuracy", "columns", "data", "drift_check", "log", "reports", "tasks", "window"]
