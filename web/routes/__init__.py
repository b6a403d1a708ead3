"""One blueprint per resource; each view carries its contract (``web.api``)."""

from web.routes import batches, docs, feedback, jobs, models, ops, predictions, reports

MODULES = (predictions, batches, reports, feedback, jobs, models, ops, docs)

__all__ = ["MODULES"]
