"""The rules of webhooks without a network: which URLs pass, and when a delivery retries."""

from __future__ import annotations

import time

import pytest

from core.jobs import Job, JobStatus, JobType
from core.settings import Settings
from core.webhooks import CallbackRefused, check
from core.webhooks.delivery import Attempt, next_delay


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/",
        "https://172.16.5.4/",
        "https://192.168.0.1/",
        "https://127.0.0.1/",
        "https://169.254.169.254/latest/meta-data",
        "https://100.64.0.1/",  # shared address space (carrier-grade NAT)
        "https://0.0.0.0/",
        "https://[::1]/",
        "https://[fe80::1]/",
        "https://[fd00::1]/",
        "https://[::ffff:10.0.0.1]/",  # IPv4-mapped: judged as 10.0.0.1
        "https://224.0.0.1/",
    ],
)
def test_an_address_that_is_not_public_is_refused(url: str) -> None:
    with pytest.raises(CallbackRefused, match="resolves to"):
        check(url, allowed=())


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://8.8.8.8/hook", "must use https"),
        ("ftp://8.8.8.8/", "absolute http or https"),
        ("https://user:pw@8.8.8.8/", "user name or password"),
        ("https://8.8.8.8:99999/", "not a valid URL"),
        ("https://no-such-host.invalid/", "does not resolve"),
    ],
)
def test_a_url_that_is_not_https_to_a_resolvable_host_is_refused(url: str, why: str) -> None:
    with pytest.raises(CallbackRefused, match=why):
        check(url, allowed=())


def test_a_public_address_over_https_passes_and_is_the_one_connected_to() -> None:
    target = check("https://8.8.8.8:8443/hook?x=1", allowed=())
    assert (target.host, target.port, target.address) == ("8.8.8.8", 8443, "8.8.8.8")


def test_an_allow_listed_host_may_use_http_and_a_loopback_address() -> None:
    target = check("http://localhost:8080/hook", allowed={"localhost"})
    assert target.address in {"127.0.0.1", "::1"}


def finished(attempts: int, finished_at: float) -> Job:
    return Job(
        id="j",
        type=JobType.PREDICTION,
        status=JobStatus.SUCCEEDED,
        created_at=finished_at,
        finished_at=finished_at,
        callback_url="https://example.com/",
        webhook_attempts=attempts,
    )


SETTINGS = Settings(webhook_backoff_seconds=10, webhook_retry_seconds=1000)


@pytest.mark.parametrize("status", [None, 500, 502, 503, 429])
def test_no_answer_a_5xx_or_a_429_is_retried_with_a_doubling_delay(status: int | None) -> None:
    now = time.time()
    delays = [next_delay(finished(n, now), Attempt(status), SETTINGS, now) for n in range(4)]
    assert delays == [10, 20, 40, 80]


@pytest.mark.parametrize("status", [200, 204, 301, 400, 401, 404, 410, 422])
def test_a_2xx_another_4xx_or_a_redirect_ends_the_delivery(status: int) -> None:
    now = time.time()
    assert next_delay(finished(0, now), Attempt(status), SETTINGS, now) is None


def test_retry_after_is_honoured_and_the_retry_window_ends_the_delivery() -> None:
    now = time.time()
    assert next_delay(finished(0, now), Attempt(429, retry_after=120), SETTINGS, now) == 120
    assert next_delay(finished(0, now - 995), Attempt(503), SETTINGS, now) is None


def test_a_url_refused_at_delivery_is_never_retried() -> None:
    now = time.time()
    refused = Attempt(None, error="callback_url resolves to 10.0.0.1", final=True)
    assert next_delay(finished(0, now), refused, SETTINGS, now) is None
