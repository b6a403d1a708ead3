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
    webhooks,
)

MODULES = (
    predictions,
    batches,
    reports,
    feedback,
    jobs,
    models,
    deployment,
    keys,
    webhooks,
    ops,
    docs,
)

__all__ = ["MODULES"]
