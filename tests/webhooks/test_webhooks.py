"""Completion webhooks with real processes: redis-server, gunicorn, a Celery worker that
consumes the ``webhooks`` queue, and a real HTTP receiver on loopback (allow-listed)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from devsupport import RedisServer, Stack, make_stack, wait_until
from tests.conftest import new_db
from tests.payloads import PASSENGER
from tests.webhooks.receiver import Receiver

pytestmark = pytest.mark.integration
PREDICTIONS = "/api/v1/predictions"
PRIVATE = "https://10.1.2.3/"
BACKOFF = 0.5  # seconds before the first retry in these tests (LIFEBOAT_WEBHOOK_BACKOFF_SECONDS)


@pytest.fixture(scope="module")
def hook_stack(
    redis_server: RedisServer, models_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    s = make_stack(
        redis_server,
        new_db(),
        models_dir,
        tmp_path_factory.mktemp("webhooks"),
        LIFEBOAT_WEBHOOK_ALLOWED_HOSTS="127.0.0.1,localhost",
        LIFEBOAT_WEBHOOK_BACKOFF_SECONDS=str(BACKOFF),
    )
    s.start_worker()
    s.start_web()
    yield s
    s.stop_all()


def submit(stack: Stack, callback_url: str) -> dict:
    r = stack.http.post(
        stack.url(PREDICTIONS), json={"instances": [PASSENGER], "callback_url": callback_url}
    )
    r.raise_for_status()  # 202, or 200 when the job finished before the answer
    return r.json()


def job(stack: Stack, job_id: str, wait: float = 0) -> dict:
    r = stack.http.get(stack.url(f"/api/v1/jobs/{job_id}"), params={"wait": wait})
    return r.json()


def secret(stack: Stack) -> str:
    return stack.http.get(stack.url("/api/v1/webhooks/secret")).json()["secret"]


def webhook_when(stack: Stack, job_id: str, done: object) -> dict:
    """The job once ``done(job["webhook"])`` holds (the test fails after 30 s)."""
    found: dict = {}

    def check() -> bool:
        found.update(job(stack, job_id))
        return bool(done(found["webhook"]))  # type: ignore[operator]

    wait_until(check, 30, "the webhook's record")
    return found


def test_a_finished_job_is_delivered_with_a_valid_signature(hook_stack: Stack) -> None:
    with Receiver([200]) as receiver:
        job_id = submit(hook_stack, receiver.url)["id"]
        got = receiver.wait_for(1, timeout=30)
        assert len(got) == 1
        delivered = Webhook(secret(hook_stack)).verify(got[0].body, got[0].headers)
        assert delivered["id"] == job_id
        assert delivered["status"] == "succeeded"
        assert delivered["result"] == job(hook_stack, job_id)["result"]
        assert got[0].headers["webhook-id"] == f"msg_{job_id}"
        shown = webhook_when(hook_stack, job_id, lambda w: w["delivered_at"])["webhook"]
        assert shown["attempts"] == 1
        assert shown["last_status"] == 200


def test_a_signature_made_with_another_secret_does_not_verify(hook_stack: Stack) -> None:
    with Receiver([200]) as receiver:
        submit(hook_stack, receiver.url)
        got = receiver.wait_for(1, timeout=30)[0]
    other = "whsec_" + "A" * 43 + "="
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(got.body, got.headers)


def test_a_receiver_answering_500_twice_gets_three_attempts_with_growing_delays(
    hook_stack: Stack,
) -> None:
    with Receiver([500, 500, 200]) as receiver:
        job_id = submit(hook_stack, receiver.url)["id"]
        shown = webhook_when(hook_stack, job_id, lambda w: w["delivered_at"])["webhook"]
        time.sleep(3 * BACKOFF)  # a fourth attempt would come within this
        got = receiver.wait_for(4, timeout=0)
    assert len(got) == 3
    assert shown == {**shown, "attempts": 3, "last_status": 200}
    # the retries were scheduled BACKOFF, then 2 x BACKOFF after the attempt before them
    assert got[1].at - got[0].at >= BACKOFF
    assert got[2].at - got[1].at >= 2 * BACKOFF
    assert len({g.headers["webhook-id"] for g in got}) == 1  # one message, three attempts
    for g in got:
        Webhook(secret(hook_stack)).verify(g.body, g.headers)


def test_a_4xx_other_than_429_is_not_retried(hook_stack: Stack) -> None:
    with Receiver([410, 200]) as receiver:
        job_id = submit(hook_stack, receiver.url)["id"]
        shown = webhook_when(hook_stack, job_id, lambda w: w["attempts"] >= 1)["webhook"]
        time.sleep(4 * BACKOFF)  # a retry would come within this
        got = receiver.wait_for(2, timeout=0)
    assert len(got) == 1
    assert shown["last_status"] == 410
    assert job(hook_stack, job_id)["webhook"]["delivered_at"] is None


def test_a_429_is_retried_after_its_retry_after(hook_stack: Stack) -> None:
    with Receiver([429, 200], headers={"Retry-After": "2"}) as receiver:
        job_id = submit(hook_stack, receiver.url)["id"]
        webhook_when(hook_stack, job_id, lambda w: w["delivered_at"])
        got = receiver.wait_for(2, timeout=0)
    assert len(got) == 2
    assert got[1].at - got[0].at >= 2


def free_closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_receiver_that_is_down_does_not_delay_the_job(hook_stack: Stack) -> None:
    down = f"http://127.0.0.1:{free_closed_port()}/hook"
    job_id = submit(hook_stack, down)["id"]
    assert job(hook_stack, job_id, wait=10)["status"] == "succeeded"
    shown = webhook_when(hook_stack, job_id, lambda w: w["attempts"] >= 2)["webhook"]
    assert shown["last_status"] is None
    assert shown["delivered_at"] is None


def test_a_cancelled_job_is_delivered_too(hook_stack: Stack) -> None:
    hook_stack.stop("worker")
    try:
        with Receiver([200]) as receiver:
            job_id = submit(hook_stack, receiver.url)["id"]
            r = hook_stack.http.post(hook_stack.url(f"/api/v1/jobs/{job_id}/cancel"))
            assert r.json()["status"] == "cancelled"
            hook_stack.start_worker()
            got = receiver.wait_for(1, timeout=60)
        assert json.loads(got[0].body)["status"] == "cancelled"
    finally:
        if "worker" not in hook_stack.procs:
            hook_stack.start_worker()


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://192.168.1.1/",
        "http://example.com/hook",  # plain http to a host that is not allow-listed
    ],
)
def test_a_callback_url_at_a_private_address_or_over_http_is_refused(
    hook_stack: Stack, url: str
) -> None:
    r = hook_stack.http.post(
        hook_stack.url(PREDICTIONS), json={"instances": [PASSENGER], "callback_url": url}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["callback_url"]


def test_a_batch_callback_url_at_a_private_address_is_refused(hook_stack: Stack) -> None:
    r = hook_stack.http.post(
        hook_stack.url("/api/v1/batches"),
        params={"callback_url": "https://169.254.169.254/"},
        data=b"pclass,sex,age,sibsp,parch,fare,embarked\n1,female,29,0,0,211.3,S\n",
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["query", "callback_url"]


def test_a_keys_default_callback_url_is_used_and_a_private_one_refused(hook_stack: Stack) -> None:
    refused = hook_stack.http.post(
        hook_stack.url("/api/v1/keys"),
        json={"name": "x", "tenant": "hooks", "scopes": ["predict"], "callback_url": PRIVATE},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["callback_url"]
    with Receiver([200]) as receiver:
        client = hook_stack.make_key("hooks", "predict", "read", callback_url=receiver.url)
        r = client.post(hook_stack.url(PREDICTIONS), json={"instances": [PASSENGER]})
        got = receiver.wait_for(1, timeout=30)
    assert json.loads(got[0].body)["id"] == r.json()["id"]
    tenant_secret = hook_stack.http.get(hook_stack.url("/api/v1/webhooks/secret"))
    assert tenant_secret.json()["tenant"] == "ops"  # the admin's tenant: not the one signing
    with pytest.raises(WebhookVerificationError):
        Webhook(tenant_secret.json()["secret"]).verify(got[0].body, got[0].headers)


def test_rotating_the_secret_signs_the_next_delivery_with_the_new_one(hook_stack: Stack) -> None:
    old = secret(hook_stack)
    new = hook_stack.http.post(hook_stack.url("/api/v1/webhooks/secret/rotate")).json()["secret"]
    assert new != old
    assert secret(hook_stack) == new
    with Receiver([200]) as receiver:
        submit(hook_stack, receiver.url)
        got = receiver.wait_for(1, timeout=30)[0]
    Webhook(new).verify(got.body, got.headers)
