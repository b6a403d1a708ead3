"""Code shared by the web and worker processes: settings, errors, the job store."""

__all__ = ["errors", "jobs", "settings"]
