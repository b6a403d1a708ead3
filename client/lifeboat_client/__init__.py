"""Lifeboat's Python SDK: ``Client(url, api_key)`` (and ``AsyncClient``) for every API call.

>>> from lifeboat_client import Client
>>> with Client("http://127.0.0.1:8000", "lb_…") as lb:
...     job = lb.predict([{"pclass": 1, "sex": "female", "age": 29, "sibsp": 0,
...                        "parch": 0, "fare": 211.34, "embarked": "S"}])
...     job.predictions[0].prediction
'survived'
"""

__version__ = "0.1.0"  # first: the modules below read it (and flit reads it for the wheel)

from lifeboat_client.aio import AsyncClient
from lifeboat_client.client import Client
from lifeboat_client.deployment import Canary, Deployment, DeploymentChange
from lifeboat_client.errors import (
    ApiError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    Forbidden,
    JobFailed,
    LifeboatError,
    NotFound,
    PayloadTooLarge,
    ServerError,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    ValidationError,
    WaitTimeout,
)
from lifeboat_client.models import (
    ApiKey,
    FeedbackResult,
    Job,
    JobPage,
    ModelInfo,
    ModelSummary,
    Monitoring,
    Prediction,
    Progress,
)
from lifeboat_client.transport import NO_RETRIES, RetryPolicy
from lifeboat_client.webhooks import InvalidSignature, verify_webhook

__all__ = [
    "NO_RETRIES",
    "ApiError",
    "ApiKey",
    "AsyncClient",
    "BadRequest",
    "Canary",
    "Client",
    "Conflict",
    "ConnectionFailed",
    "Deployment",
    "DeploymentChange",
    "FeedbackResult",
    "Forbidden",
    "InvalidSignature",
    "Job",
    "JobFailed",
    "JobPage",
    "LifeboatError",
    "ModelInfo",
    "ModelSummary",
    "Monitoring",
    "NotFound",
    "PayloadTooLarge",
    "Prediction",
    "Progress",
    "RetryPolicy",
    "ServerError",
    "ServiceUnavailable",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationError",
    "WaitTimeout",
    "__version__",
    "verify_webhook",
]
