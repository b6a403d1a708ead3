"""The synchronous client: ``Client(url, api_key)`` and one method per API operation."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import httpx
import tenacity

from lifeboat_client import calls
from lifeboat_client.config import Settings
from lifeboat_client.deployment import DeploymentMethods
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
    NO_RETRIES,
    Call,
    RetryPolicy,
    checked,
    error_of,
    json_of,
    retrying_kwargs,
    timeout,
    unreachable,
)

DEFAULT_PREDICT_WAIT = 60.0  # seconds predict() waits for its job before WaitTimeout


class Client(DeploymentMethods):
    """Lifeboat's API over HTTP. ``url`` and ``api_key`` default to ``$LIFEBOAT_URL`` and
    ``$LIFEBOAT_API_KEY``. Use it as a context manager, or call :meth:`close`."""

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = Settings(url, api_key, timeout=timeout, retry=retry)
        self.base_url = self.settings.base_url
        self._http = httpx.Client(transport=transport, **self.settings.http_kwargs())

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- sending ---------------------------------------------------------------------------
    def _request(self, call: Call, *, stream: bool = False) -> httpx.Response:
        request = self._http.build_request(
            call.method,
            call.url,
            params=call.query(),
            json=call.json,
            content=call.body() if call.body else None,
            headers=call.headers,
            timeout=timeout(self.settings.timeout, call),
        )
        resp = self._http.send(request, stream=stream)
        if resp.status_code >= 400:
            if stream:
                resp.read()
                resp.close()
            raise error_of(resp)
        return resp

    def _send(self, call: Call, *, stream: bool = False, retry: RetryPolicy | None = None) -> Any:
        try:
            for attempt in tenacity.Retrying(**retrying_kwargs(retry or self.settings.retry, call)):
                with attempt:
                    return self._request(call, stream=stream)
        except httpx.TransportError as exc:
            raise unreachable(self.base_url, exc) from exc
        raise AssertionError("unreachable")  # tenacity re-raises the last error

    def _json(self, call: Call) -> Any:
        return json_of(self._send(call))

    # --- predictions and jobs --------------------------------------------------------------
    def submit(
        self,
        instances: Iterable[Mapping[str, Any]],
        *,
        model_version: str | None = None,
        wait: float | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Queue a prediction job (``wait``: long-poll up to that many seconds, at most 20)."""
        call = calls.submit_prediction(
            instances, model_version=model_version, wait=wait, idempotency_key=idempotency_key
        )
        return Job.from_json(self._json(call))

    def predict(
        self,
        instances: Iterable[Mapping[str, Any]],
        *,
        wait: float = DEFAULT_PREDICT_WAIT,
        model_version: str | None = None,
        idempotency_key: str | None = None,
    ) -> Job:
        """Predict and wait up to ``wait`` seconds: the succeeded job (``job.predictions``).

        Raises :class:`JobFailed` if the job failed, :class:`WaitTimeout` if it is not done.
        """
        deadline = time.monotonic() + wait
        job = self.submit(
            instances, model_version=model_version, wait=wait, idempotency_key=idempotency_key
        )
        if not job.finished:
            job = self.wait(job.id, max(0.0, deadline - time.monotonic()))
        if not job.succeeded:
            raise JobFailed(job)
        return job

    def job(self, job_id: str, *, wait: float | None = None) -> Job:
        """The job (``wait``: long-poll up to that many seconds for it to finish)."""
        return Job.from_json(self._json(calls.get_job(job_id, wait)))

    def wait(
        self,
        job_id: str,
        timeout: float | None = None,
        *,
        on_progress: ProgressCallback | None = None,
    ) -> Job:
        """Long-poll until the job finishes (any terminal status) or ``timeout`` seconds
        pass (:class:`WaitTimeout`); ``on_progress`` gets the job's progress as it goes."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = calls.LONG_POLL_SECONDS if deadline is None else deadline - time.monotonic()
            job = self.job(job_id, wait=max(0.0, min(left, calls.LONG_POLL_SECONDS)))
            if on_progress:
                on_progress(job.progress)
            if job.finished:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise WaitTimeout(job, timeout or 0.0)

    def cancel(self, job_id: str) -> Job:
        """Cancel a queued or running job; the cancelled job (Conflict once it finished)."""
        try:
            return Job.from_json(self._json(calls.cancel_job(job_id)))
        except Conflict:
            job = self.job(job_id)  # a retried cancel that had gone through
            if job.status == "cancelled":
                return job
            raise

    def jobs(
        self,
        *,
        type: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        tenant: str | None = None,
        cursor: str | None = None,
    ) -> JobPage:
        """One page of the tenant's recent jobs, newest first."""
        call = calls.list_jobs(type=type, status=status, limit=limit, tenant=tenant, cursor=cursor)
        return JobPage.from_json(self._json(call))

    def iter_jobs(self, **filters: Any) -> Iterator[Job]:
        """Every job the listing reaches, following ``next_cursor`` while the server pages."""
        cursor = filters.pop("cursor", None)
        while True:
            page = self.jobs(cursor=cursor, **filters)
            yield from page.jobs
            if not page.next_cursor or not page.jobs:
                return
            cursor = page.next_cursor

    # --- batches -----------------------------------------------------------------------------
    def submit_batch(
        self,
        source: PathOrFile,
        *,
        id_column: str | None = None,
        model_version: str | None = None,
        idempotency_key: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Job:
        """Upload a CSV (or ``.parquet``) file or binary stream; the queued batch job."""
        with Upload(source, on_progress) as upload:
            call = calls.submit_batch(
                upload.chunks,
                content_type=upload.content_type,
                size=upload.size,
                id_column=id_column,
                model_version=model_version,
                idempotency_key=idempotency_key,
            )
            return Job.from_json(self._json(call))

    def batch(
        self,
        source: PathOrFile,
        *,
        to: PathOrFile | None = None,
        format: str | None = None,
        id_column: str | None = None,
        model_version: str | None = None,
        timeout: float | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Job:
        """Upload, wait for the job, and (with ``to``) download the scored file.

        ``on_progress`` sees the phases ``uploading``, ``queued``/``running`` and
        ``downloading``. Raises :class:`JobFailed` if the job did not succeed.
        """
        job = self.submit_batch(
            source, id_column=id_column, model_version=model_version, on_progress=on_progress
        )
        job = self.wait(job.id, timeout, on_progress=on_progress)
        if not job.succeeded:
            raise JobFailed(job)
        if to is not None:
            self.result(job.id, to=to, format=format, on_progress=on_progress)
        return job

    def result(
        self,
        job_id: str,
        to: PathOrFile | None = None,
        *,
        format: str | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> bytes | None:
        """A batch's scored file: written to ``to`` (a path: through ``<to>.part``, renamed
        when complete), or returned as bytes. ``format``: csv or parquet (default: from
        ``to``'s suffix, else csv)."""
        name = to if isinstance(to, (str, os.PathLike)) else None
        file_format = format or ("parquet" if is_parquet(name) else "csv")
        return self._download(calls.result(job_id, file_format), to, on_progress)

    def _download(
        self, call: Call, to: PathOrFile | None, on_progress: ProgressCallback | None
    ) -> bytes | None:
        call.headers["Accept"] = "*/*"
        resp = self._send(call, stream=True)
        with contextlib.closing(resp):
            if to is None:
                return resp.read()
            total = int(resp.headers.get("Content-Length") or 0)
            with Download(to, total, on_progress) as out:
                for chunk in resp.iter_bytes():
                    out.write(chunk)
        return None

    # --- reports, feedback, models, monitoring -------------------------------------------------
    def report(
        self,
        type: str,
        window: calls.Window | None = None,
        *,
        file: PathOrFile | None = None,
        model_version: str | None = None,
        wait: float | None = None,
    ) -> Job:
        """Queue a drift or performance report over a window of logged predictions
        (``5000``: the last 5000; ``(since, until)``) or a CSV ``file`` of current data.
        With ``wait``, wait up to that many seconds and raise :class:`JobFailed` on failure."""
        if (window is None) == (file is None):
            raise TypeError("report() takes a window or a file, not both or neither")
        if file is not None:
            with Upload(file) as upload:
                call = calls.submit_report_file(
                    type, upload.chunks, size=upload.size, model_version=model_version
                )
                job = Job.from_json(self._json(call))
        else:
            call = calls.submit_report(type, window, model_version=model_version, wait=wait)
            job = Job.from_json(self._json(call))
        if wait is None:
            return job
        job = job if job.finished else self.wait(job.id, wait)
        if not job.succeeded:
            raise JobFailed(job)
        return job

    def report_html(self, job_id: str, to: PathOrFile | None = None) -> str | None:
        """A succeeded report job's Evidently HTML (or written to ``to``)."""
        data = self._download(calls.report_html(job_id), to, None)
        return None if data is None else data.decode()

    def feedback(self, items: calls.FeedbackItems) -> FeedbackResult:
        """Ground truth: ``[{"prediction_id": …, "actual": …}]`` or ``(id, actual)`` pairs."""
        return FeedbackResult.from_json(self._json(calls.feedback(items)))

    def models(self) -> list[ModelSummary]:
        return [ModelSummary.from_json(m) for m in self._json(calls.list_models())["models"]]

    def model(self, version: str) -> ModelInfo:
        return ModelInfo.from_json(self._json(calls.get_model(version)))

    def monitoring(self, version: str) -> Monitoring:
        return Monitoring.from_json(self._json(calls.monitoring(version)))

    # --- API keys (admin) --------------------------------------------------------------------
    def create_key(
        self,
        name: str,
        tenant: str,
        scopes: Iterable[str],
        *,
        expires_at: datetime | str | None = None,
        **limits: Any,
    ) -> ApiKey:
        """A new API key; its ``token`` is in this answer only."""
        call = calls.create_key(name, tenant, scopes, expires_at=expires_at, **limits)
        return ApiKey.from_json(self._json(call))

    def keys(self) -> list[ApiKey]:
        return [ApiKey.from_json(k) for k in self._json(calls.list_keys())["keys"]]

    def revoke_key(self, key_id: str) -> ApiKey:
        return ApiKey.from_json(self._json(calls.revoke_key(key_id)))

    def health(self) -> dict[str, Any]:
        return json_of(self._send(calls.health()))

    def ready(self) -> bool:
        """Whether the server is ready to take jobs (one try, no retries)."""
        try:
            checked(self._send(calls.ready(), retry=NO_RETRIES))
        except Exception:  # noqa: BLE001 - not ready, whatever the reason
            return False
        return True
