"""One blueprint per resource; each module has ``bp`` and may add ``OPENAPI_PATHS``."""

from web.routes import batches, docs, feedback, jobs, models, ops, predictions, reports

MODULES = (predictions, batches, reports, feedback, jobs, models, ops, docs)

__all__ = ["MODULES"]
