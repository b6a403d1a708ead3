"""Typed results: each API resource as a frozen dataclass, its JSON kept in ``raw``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})


def moment(value: Any) -> datetime | None:
    """An RFC 3339 timestamp of the API as an aware datetime (None stays None)."""
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass(frozen=True)
class Progress:
    """How far a job (or a client-side phase: uploading, downloading) has got."""

    done: int
    total: int
    phase: str = ""
    unit: str = "rows"


@dataclass(frozen=True)
class Prediction:
    """One scored instance of a prediction job."""

    id: Any
    prediction_id: str
    prediction: str
    probabilities: dict[str, float]
    model_version: str | None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Prediction:
        return cls(
            id=d.get("id"),
            prediction_id=d.get("prediction_id", ""),
            prediction=d["prediction"],
            probabilities=dict(d.get("probabilities") or {}),
            model_version=d.get("model_version"),
        )


@dataclass(frozen=True)
class Job:
    """A job as ``GET /api/v1/jobs/{id}`` shows it."""

    id: str
    type: str
    status: str
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    model_version: str | None
    progress: Progress
    result: Any
    error: dict[str, Any] | None
    tenant: str | None
    routing: str | None  # why model_version serves it: default, canary or pinned
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Job:
        p = d.get("progress") or {}
        return cls(
            id=d["id"],
            type=d.get("type", ""),
            status=d["status"],
            created_at=moment(d.get("created_at")),
            started_at=moment(d.get("started_at")),
            finished_at=moment(d.get("finished_at")),
            model_version=d.get("model_version"),
            progress=Progress(int(p.get("done") or 0), int(p.get("total") or 0), d["status"]),
            result=d.get("result"),
            error=d.get("error"),
            tenant=d.get("tenant"),
            routing=d.get("routing"),
            raw=d,
        )

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def predictions(self) -> list[Prediction]:
        """A prediction job's predictions (empty until it has succeeded)."""
        if not isinstance(self.result, dict):
            return []
        return [Prediction.from_json(p) for p in self.result.get("predictions") or []]


@dataclass(frozen=True)
class JobPage:
    """One answer of ``GET /api/v1/jobs``; ``next_cursor`` is set when the server pages."""

    jobs: list[Job]
    limit: int
    next_cursor: str | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> JobPage:
        return cls(
            jobs=[Job.from_json(j) for j in d.get("jobs") or []],
            limit=int(d.get("limit") or 0),
            next_cursor=d.get("next_cursor"),
        )


@dataclass(frozen=True)
class ModelSummary:
    """An installed model version, as ``GET /api/v1/models`` lists it."""

    version: str
    default: bool
    created_at: str | None
    estimator: str | None
    holdout_metrics: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ModelSummary:
        return cls(
            version=d["version"],
            default=bool(d.get("default")),
            created_at=d.get("created_at"),
            estimator=d.get("estimator"),
            holdout_metrics=d.get("holdout_metrics"),
            raw=d,
        )


@dataclass(frozen=True)
class ModelInfo:
    """One model version with its card (``GET /api/v1/models/{version}``)."""

    version: str
    default: bool
    card: dict[str, Any]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ModelInfo:
        return cls(version=d["version"], default=bool(d.get("default")), card=d.get("card") or {})


@dataclass(frozen=True)
class Monitoring:
    """What the workers last measured of a version (``None`` fields: not measured yet)."""

    version: str
    drift_check: dict[str, Any] | None
    measured_accuracy: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Monitoring:
        return cls(
            version=d["version"],
            drift_check=d.get("drift_check"),
            measured_accuracy=d.get("measured_accuracy"),
            raw=d,
        )


@dataclass(frozen=True)
class FeedbackResult:
    """The answer to ``POST /api/v1/feedback``."""

    received: int
    accepted: int
    duplicate: int
    unknown: int
    unknown_ids: list[str]
    model_versions: list[str]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FeedbackResult:
        return cls(
            received=d["received"],
            accepted=d["accepted"],
            duplicate=d["duplicate"],
            unknown=d["unknown"],
            unknown_ids=list(d.get("unknown_ids") or []),
            model_versions=list(d.get("model_versions") or []),
        )


@dataclass(frozen=True)
class ApiKey:
    """An API key without its secret; ``token`` is set only in the answer that made it."""

    id: str
    name: str
    tenant: str
    scopes: list[str]
    created_at: datetime | None
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked: bool
    limits: dict[str, Any]
    token: str | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> ApiKey:
        limit_names = ("rate_limit_per_second", "max_active_jobs", "max_active_batches")
        return cls(
            id=d["id"],
            name=d.get("name", ""),
            tenant=d.get("tenant", ""),
            scopes=list(d.get("scopes") or []),
            created_at=moment(d.get("created_at")),
            last_used_at=moment(d.get("last_used_at")),
            expires_at=moment(d.get("expires_at")),
            revoked=bool(d.get("revoked")),
            limits={k: d.get(k) for k in (*limit_names, "max_stored_bytes")},
            token=d.get("token"),
        )
