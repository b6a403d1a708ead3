"""One webhook delivery attempt: check the URL again, sign, POST, record, decide.

The body is the job resource, the same JSON as ``GET /api/v1/jobs/{id}``. An answer in
the 2xx range delivers it. No answer (a timeout, a refused or broken connection), a 5xx
or a 429 is retried after an exponential backoff (or the 429's / 503's ``Retry-After``)
for up to ``LIFEBOAT_WEBHOOK_RETRY_SECONDS`` after the job finished; any other answer
(another 4xx, a redirect) and a URL that now resolves to a refused address end the
delivery. Each attempt is recorded on the job (``webhook_*`` fields, one script), which
is all a delivery ever changes: the job's status and result are final before it starts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx
import redis

from core import scripts
from core.jobs import Job, JobStore
from core.jobs.model import encode
from core.jobs.resource import job_resource
from core.keys import Keys
from core.settings import Settings
from core.webhooks import signing
from core.webhooks.urls import CallbackRefused, Target, allowed_hosts, check

MAX_BACKOFF = 3_600.0  # seconds: the longest wait between two attempts
USER_AGENT = "Lifeboat-Webhooks/1"


@dataclass(frozen=True)
class Attempt:
    """What one attempt got: an HTTP status, or none (``error`` says why)."""

    status: int | None
    retry_after: float | None = None  # seconds, from the answer's Retry-After
    error: str | None = None
    final: bool = False  # the URL is refused now: never retried

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def retryable(self) -> bool:
        """No answer, a server error or too many requests: worth trying again later."""
        if self.final:
            return False
        return self.status is None or self.status >= 500 or self.status == 429


def attempt(settings: Settings, redis_client: redis.Redis, job: Job) -> Attempt:
    """Deliver a finished job to its callback URL once, and record the attempt on the job."""
    assert job.callback_url  # only jobs with a callback URL are delivered
    try:
        target = check(job.callback_url, allowed_hosts(settings))
    except CallbackRefused as exc:
        got = Attempt(None, error=f"callback_url {exc}", final=True)
    else:
        secret = signing.SigningSecrets(redis_client, Keys(settings.key_prefix)).get(
            job.tenant or ""
        )
        got = post(target, job, secret, settings.webhook_timeout_seconds)
    record(redis_client, Keys(settings.key_prefix), job.id, got)
    return got


def post(target: Target, job: Job, secret: str, timeout: float) -> Attempt:
    """POST the job resource to the checked address, named as the URL names its host."""
    body = encode(job_resource(job)).decode()
    headers = {
        **signing.headers(secret, f"msg_{job.id}", body),
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Host": _host_header(target),
    }
    url = httpx.URL(target.url).copy_with(host=target.address)
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            answer = client.post(url, content=body, headers=headers, extensions=extensions)
    except httpx.HTTPError as exc:  # timeouts, refused and broken connections, TLS errors
        return Attempt(None, error=f"{type(exc).__name__}: {exc}")
    return Attempt(answer.status_code, retry_after=_retry_after(answer.headers.get("retry-after")))


def next_delay(
    job: Job, got: Attempt, settings: Settings, now: float | None = None
) -> float | None:
    """Seconds until the next attempt, or None when the delivery is over (delivered, not
    worth retrying, or out of the retry window)."""
    if got.delivered or not got.retryable:
        return None
    backoff = settings.webhook_backoff_seconds * 2 ** max(0, job.webhook_attempts)
    delay = min(MAX_BACKOFF, got.retry_after if got.retry_after is not None else backoff)
    deadline = (job.finished_at or job.created_at) + settings.webhook_retry_seconds
    return delay if (time.time() if now is None else now) + delay <= deadline else None


def record(client: redis.Redis, keys: Keys, job_id: str, got: Attempt) -> int:
    """Count an attempt on the job: its status, and when it was delivered; 0 if expired."""
    script = client.register_script(scripts.source("webhook_attempt"))
    delivered = repr(time.time()) if got.delivered else ""
    status = "" if got.status is None else str(got.status)
    return int(script(keys=[keys.job(job_id)], args=[status, delivered]))


def finished_job(store: JobStore, job_id: str) -> Job | None:
    """The finished job to deliver, or None (expired, delivered already, or without a
    callback URL)."""
    job = store.get_many([job_id])[0]
    if job is None or not job.status.terminal or not job.callback_url or job.webhook_delivered_at:
        return None
    return job


def _host_header(target: Target) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    default = {"http": 80, "https": 443}[target.scheme]
    return host if target.port == default else f"{host}:{target.port}"


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: delay-seconds or an HTTP date; None if unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
