"""One blueprint per resource; each view carries its contract (``web.api``)."""

from web.routes import (
    batches,
    deployment,
    docs,
    feedback,
    jobs,
    keys,
    models,
    ops,
    predictions,
    reports,
)

MODULES = (predictions, batches, reports, feedback, jobs, models, deployment, keys, ops, docs)

__all__ = ["MODULES"]
