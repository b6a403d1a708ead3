"""The asyncio client: :class:`AsyncClient`, the same calls, retries and results as
:class:`~lifeboat_client.Client` (each operation is built once, in ``calls``)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import httpx
import tenacity

from lifeboat_client import calls
from lifeboat_client.client import DEFAULT_PREDICT_WAIT
from lifeboat_client.config import Settings
from lifeboat_client.deployment import AsyncDeploymentMethods
from lifeboat_client.errors import Conflict, JobFailed, WaitTimeout
from lifeboat_client.files import Download, PathOrFile, ProgressCallback, Upload, is_parquet
from lifeboat_client.models import (
    ApiKey,
    FeedbackResult,
    Job,
    JobPage,
    ModelInfo,
    ModelSummary,
    Monitoring,
)
from lifeboat_client.transport import (
    Call,
    RetryPolicy,
    error_of,
    json_of,
    retrying_kwargs,
    timeout,
    unreachable,
)


class AsyncClient(AsyncDeploymentMethods):
    """``async with AsyncClient(url, api_key) as lb: job = await lb.predict([...])``."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = Settings(url, api_key, timeout=timeout, retry=retry)
        self.base_url = self.settings.base_url
        self._http = httpx.AsyncClient(transport=transport, **self.settings.http_kwargs())

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _request(self, call: Call, *, stream: bool = False) -> httpx.Response:
        request = self._http.build_request(
            call.method,
            call.url,
            params=call.query(),
            json=call.json,
            content=call.body() if call.body else None,
            headers=call.headers,
            timeout=timeout(self.settings.timeout, call),
        )
        resp = await self._http.send(request, stream=stream)
        if resp.status_code >= 400:
            if stream:
                await resp.aread()
                await resp.aclose()
            raise error_of(resp)
        return resp

    async def _send(self, call: Call, *, stream: bool = False) -> Any:
        try:
            async for attempt in tenacity.AsyncRetrying(
                **retrying_kwargs(self.settings.retry, call)
            ):
                with attempt:
                    return await self._request(call, stream=stream)
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from exc
        raise AssertionError("unreachable")

    async def _json(self, call: Call) -> Any:
        return json_of(await self._send(call))

    async def submit(
        self,
        instances: Iterable[Mapping[str, Any]],
        *,
        model_version: str | None = None,
        wait: float | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        call = calls.submit_prediction(
            instances, model_version=model_version, wait=wait, idempotency_key=idempotency_key
        )
        return Job.from_json(await self._json(call))

    async def predict(
        self,
        instances: Iterable[Mapping[str, Any]],
        *,
        wait: float = DEFAULT_PREDICT_WAIT,
        model_version: str | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        deadline = time.monotonic() + wait
        job = await self.submit(
            instances, model_version=model_version, wait=wait, idempotency_key=idempotency_key
        )
        if not job.finished:
            job = await self.wait(job.id, max(0.0, deadline - time.monotonic()))
        if not job.succeeded:
            raise JobFailed(job)
        return job

    async def job(self, job_id: str, *, wait: float | None = None) -> Job:
        return Job.from_json(await self._json(calls.get_job(job_id, wait)))

    async def wait(
        self,
        job_id: str,
        timeout: float | None = None,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> Job:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = calls.LONG_POLL_SECONDS if deadline is None else deadline - time.monotonic()
            job = await self.job(job_id, wait=max(0.0, min(left, calls.LONG_POLL_SECONDS)))
            if on_progress:
                on_progress(job.progress)
            if job.finished:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(job, timeout or 0.0)

    async def cancel(self, job_id: str) -> Job:
        try:
            return Job.from_json(await self._json(calls.cancel_job(job_id)))
        except Conflict:
            job = await self.job(job_id)
            if job.status == "cancelled":
                return job
            raise

    async def jobs(self, **filters: Any) -> JobPage:
        return JobPage.from_json(await self._json(calls.list_jobs(**filters)))

    async def iter_jobs(self, **filters: Any) -> AsyncIterator[Job]:
        cursor = filters.pop("cursor", None)
        while True:
            page = await self.jobs(cursor=cursor, **filters)
            for job in page.jobs:
                yield job
            if not page.next_cursor or not page.jobs:
                return
            cursor = page.next_cursor

    async def submit_batch(
        self,
        source: PathOrFile,
        *,
        id_column: str | None = None,
        model_version: str | None = None,
        idempotency_key: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Job:
        # opening (and spooling a pipe) is blocking file work: off the event loop
        upload = await asyncio.to_thread(Upload, source, on_progress)
        with upload:
            call = calls.submit_batch(
                upload.achunks,
                content_type=upload.content_type,
                size=upload.size,
                id_column=id_column,
                model_version=model_version,
                idempotency_key=idempotency_key,
            )
            return Job.from_json(await self._json(call))

    async def result(
        self,
        job_id: str,
        to: PathOrFile | None = None,
        *,
        format: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> bytes | None:
        name = to if isinstance(to, (str, os.PathLike)) else None
        file_format = format or ("parquet" if is_parquet(name) else "csv")
        return await self._download(calls.result(job_id, file_format), to, on_progress)

    async def _download(
        self, call: Call, to: PathOrFile | None, on_progress: ProgressCallback | None
    ) -> bytes | None:
        call.headers["Accept"] = "*/*"
        resp = await self._send(call, stream=True)
        try:
            if to is None:
                return await resp.aread()
            total = int(resp.headers.get("Content-Length") or 0)
            with Download(to, total, on_progress) as out:
                async for chunk in resp.aiter_bytes():
                    out.write(chunk)
            return None
        finally:
            await resp.aclose()

    async def report(
        self,
        type: str,
        window: calls.Window,
        *,
        model_version: str | None = None,
        wait: float | None = None,
    ) -> Job:
        """A report over a window of logged predictions (uploads: the sync client)."""
        call = calls.submit_report(type, window, model_version=model_version, wait=wait)
        job = Job.from_json(await self._json(call))
        if wait is None:
            return job
        job = job if job.finished else await self.wait(job.id, wait)
        if not job.succeeded:
            raise JobFailed(job)
        return job

    async def report_html(self, job_id: str) -> str:
        data = await self._download(calls.report_html(job_id), None, None)
        return (data or b"").decode()

    async def feedback(self, items: calls.FeedbackItems) -> FeedbackResult:
        return FeedbackResult.from_json(await self._json(calls.feedback(items)))

    async def models(self) -> list[ModelSummary]:
        body = await self._json(calls.list_models())
        return [ModelSummary.from_json(m) for m in body["models"]]

    async def model(self, version: str) -> ModelInfo:
        return ModelInfo.from_json(await self._json(calls.get_model(version)))

    async def monitoring(self, version: str) -> Monitoring:
        return Monitoring.from_json(await self._json(calls.monitoring(version)))

    async def create_key(
        self, name: str, tenant: str, scopes: Iterable[str], **options: Any
    ) -> ApiKey:
        expires_at = options.pop("expires_at", None)
        call = calls.create_key(name, tenant, scopes, expires_at=expires_at, **options)
        return ApiKey.from_json(await self._json(call))

    async def keys(self) -> list[ApiKey]:
        return [ApiKey.from_json(k) for k in (await self._json(calls.list_keys()))["keys"]]

    async def revoke_key(self, key_id: str) -> ApiKey:
        return ApiKey.from_json(await self._json(calls.revoke_key(key_id)))
