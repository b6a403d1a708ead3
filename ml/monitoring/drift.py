"""Data drift between current data and a model version's reference data.

Two ways to the same numbers:

- :func:`drift_report` runs Evidently's per-column ``ValueDrift`` metrics (what
  ``DataDriftPreset`` runs, once instead of three times; column types declared,
  never inferred) and gives the snapshot, whose HTML a report job stores, and
  :func:`summary_from_snapshot` reads the summary out of it;
- :func:`compute_drift` computes each column's drift directly, with the same
  default test Evidently 0.7 picks for that column and the same statistic
  (numbers only: no HTML, no Evidently import, no duplicate work). The
  scheduled drift check uses it; tests check it equals Evidently's numbers.

Evidently's default choice (``_get_default_stattest``), made per column on the
values left after dropping missing and infinite ones: with at most 1,000
reference values, numeric columns get the K-S test (chi-square / Z-test when at
most 5 distinct values) and categorical ones chi-square (Z-test when binary);
with more, numeric columns get the normed Wasserstein distance (Jensen-Shannon
when at most 5 distinct values) and categorical ones the Jensen-Shannon distance.
P-value tests drift below their threshold, distances at or above it.

Pure pandas/numpy/scipy; Evidently is imported inside the functions that need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from ml.schema import FeatureSchema

DEFAULT_DRIFT_SHARE = 0.5  # dataset drift when at least this share of the features drifted
SMALL_REFERENCE_ROWS = 1_000  # Evidently switches from tests to distances above this many values
FEW_VALUES = 5  # numeric columns with at most this many distinct values are binned as categories
JS_NUMERIC_BINNING_MIN_VALUES = 20  # Evidently bins numeric values (Sturges) above this many

# Evidently's stattest name → (display name, default threshold, score is a p-value)
STATTESTS: dict[str, tuple[str, float, bool]] = {
    "ks": ("K-S p_value", 0.05, True),
    "chisquare": ("chi-square p_value", 0.05, True),
    "z": ("Z-test p_value", 0.05, True),
    "wasserstein": ("Wasserstein distance (normed)", 0.1, False),
    "jensenshannon": ("Jensen-Shannon distance", 0.1, False),
}
DISPLAY_TO_STATTEST = {display: name for name, (display, _, _) in STATTESTS.items()}


@dataclass(frozen=True)
class ColumnTypes:
    """Feature columns by the type Evidently must treat them as."""

    numerical: list[str]
    categorical: list[str]

    @classmethod
    def from_schema(cls, schema: FeatureSchema) -> ColumnTypes:
        return cls(
            numerical=[f.name for f in schema.features if f.kind == "numeric"],
            categorical=[f.name for f in schema.features if f.kind == "categorical"],
        )

    @property
    def all(self) -> list[str]:
        return [*self.numerical, *self.categorical]


@dataclass(frozen=True)
class FeatureDrift:
    """The drift test of one feature."""

    method: str  # Evidently's display name of the test, e.g. "K-S p_value"
    stattest: str  # Evidently's name of the test, e.g. "ks"
    score: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftSummary:
    """Dataset drift yes/no, share of drifted features, and each feature's test."""

    dataset_drift: bool
    drift_share: float  # the share of drifted features at which the dataset drifts
    number_of_drifted_features: int
    share_of_drifted_features: float
    features: dict[str, FeatureDrift]
    current_rows: int
    reference_rows: int

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["features"] = {name: asdict(f) for name, f in self.features.items()}
        return out

    @property
    def drifted_features(self) -> list[str]:
        return [name for name, f in self.features.items() if f.drifted]


# --- numbers only ------------------------------------------------------------------------
def compute_drift(
    current: pd.DataFrame,
    reference: pd.DataFrame,
    types: ColumnTypes,
    *,
    drift_share: float = DEFAULT_DRIFT_SHARE,
) -> DriftSummary:
    """Each feature's drift with Evidently's default test, computed directly."""
    features: dict[str, FeatureDrift] = {}
    for column in types.all:
        kind = "numerical" if column in types.numerical else "categorical"
        features[column] = column_drift(current[column], reference[column], kind)
    return _summary(features, drift_share, len(current), len(reference))


def column_drift(current: pd.Series, reference: pd.Series, kind: str) -> FeatureDrift:
    """One column's drift test, as Evidently's ``ValueDrift`` with no method given."""
    cur = _clean(current)
    ref = _clean(reference)
    if cur.empty or ref.empty:
        side = "current" if cur.empty else "reference"
        raise ValueError(f"column {current.name!r} has no values in the {side} data")
    stattest = default_stattest(ref, cur, kind)
    display, threshold, is_p_value = STATTESTS[stattest]
    score = float(_STAT_FUNCTIONS[stattest](ref, cur, kind))
    drifted = _is_drift(stattest, score, threshold, is_p_value)
    return FeatureDrift(display, stattest, score, threshold, drifted)


def default_stattest(reference: pd.Series, current: pd.Series, kind: str) -> str:
    """The test Evidently 0.7 picks for a column (on values without missing ones)."""
    n_values = pd.concat([reference, current]).nunique()
    if reference.shape[0] <= SMALL_REFERENCE_ROWS:
        if kind == "numerical" and n_values > FEW_VALUES:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    if kind == "numerical" and n_values > FEW_VALUES:
        return "wasserstein"
    return "jensenshannon"


def _is_drift(stattest: str, score: float, threshold: float, is_p_value: bool) -> bool:
    if not is_p_value:
        return score >= threshold
    return score <= threshold if stattest == "ks" else score < threshold  # as Evidently does


def _clean(series: pd.Series) -> pd.Series:
    return series.replace([-np.inf, np.inf], np.nan).dropna()


def _counts(reference: pd.Series, current: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Counts of every value seen in either sample, aligned."""
    ref_counts = reference.value_counts()
    cur_counts = current.value_counts()
    keys = ref_counts.index.union(cur_counts.index)
    ref = ref_counts.reindex(keys, fill_value=0).to_numpy(dtype=np.int64)
    cur = cur_counts.reindex(keys, fill_value=0).to_numpy(dtype=np.int64)
    return ref, cur


def _ks(reference: pd.Series, current: pd.Series, _kind: str) -> float:
    from scipy.stats import ks_2samp

    return ks_2samp(reference, current)[1]


def _wasserstein(reference: pd.Series, current: pd.Series, _kind: str) -> float:
    from scipy.stats import wasserstein_distance

    norm = max(float(np.std(reference)), 0.001)  # np.std of the Series, as Evidently does
    return wasserstein_distance(reference, current) / norm


def _jensenshannon(reference: pd.Series, current: pd.Series, kind: str) -> float:
    from scipy.spatial import distance

    if kind == "numerical" and reference.nunique() > JS_NUMERIC_BINNING_MIN_VALUES:
        ref = reference.to_numpy(dtype=float)
        cur = current.to_numpy(dtype=float)
        bins = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
        ref_p = np.histogram(ref, bins)[0] / len(ref)
        cur_p = np.histogram(cur, bins)[0] / len(cur)
    else:
        ref_c, cur_c = _counts(reference, current)
        ref_p, cur_p = ref_c / len(reference), cur_c / len(current)
    return float(distance.jensenshannon(ref_p, cur_p))


def _chisquare(reference: pd.Series, current: pd.Series, _kind: str) -> float:
    from scipy.stats import chisquare

    ref_c, cur_c = _counts(reference, current)
    expected = ref_c * (current.shape[0] / reference.shape[0])
    return chisquare(cur_c, expected)[1]


def _z(reference: pd.Series, current: pd.Series, _kind: str) -> float:
    from scipy.stats import norm

    ref_values = reference.unique()
    cur_values = current.unique()
    if len(ref_values) == 1 and len(cur_values) == 1 and ref_values[0] == cur_values[0]:
        return 1.0
    first = sorted(set(ref_values) | set(cur_values))[0]
    n1, n2 = len(reference), len(current)
    p1 = float((reference != first).sum()) / n1
    p2 = float((current != first).sum()) / n2
    pooled = float(p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / np.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    return float(2 * (1 - norm.cdf(np.abs(z))))


_STAT_FUNCTIONS = {
    "ks": _ks,
    "wasserstein": _wasserstein,
    "jensenshannon": _jensenshannon,
    "chisquare": _chisquare,
    "z": _z,
}


def _summary(
    features: dict[str, FeatureDrift], drift_share: float, current_rows: int, reference_rows: int
) -> DriftSummary:
    drifted = sum(f.drifted for f in features.values())
    share = drifted / len(features) if features else 0.0
    return DriftSummary(
        dataset_drift=bool(share >= drift_share),
        drift_share=drift_share,
        number_of_drifted_features=drifted,
        share_of_drifted_features=share,
        features=features,
        current_rows=current_rows,
        reference_rows=reference_rows,
    )


# --- Evidently ---------------------------------------------------------------------------
def data_definition(types: ColumnTypes, **extra: Any) -> Any:
    """Evidently's ``DataDefinition`` with every column's type declared."""
    from evidently import DataDefinition

    return DataDefinition(
        numerical_columns=list(types.numerical),
        categorical_columns=list(types.categorical),
        **extra,
    )


def drift_report(
    current: pd.DataFrame,
    reference: pd.DataFrame,
    types: ColumnTypes,
    *,
    preset: bool = False,
) -> Any:
    """Run Evidently's drift metrics over the features; returns the snapshot.

    By default one ``ValueDrift`` metric per feature (with its test): the numbers
    and per-column widgets of ``DataDriftPreset`` at a third of the cost, since the
    preset computes every column's drift three times (its ``ValueDrift`` metrics,
    ``DriftedColumnsCount`` and the legacy table it renders). ``preset=True`` runs
    the preset itself. Either way :func:`summary_from_snapshot` gives the same summary.
    """
    from evidently import Dataset, Report
    from evidently.metrics import ValueDrift
    from evidently.presets import DataDriftPreset

    definition = data_definition(types)
    columns = types.all
    metrics: list[Any] = (
        [DataDriftPreset(columns=columns)]
        if preset
        else [ValueDrift(column=column) for column in columns]
    )
    return Report(metrics, include_tests=True).run(
        Dataset.from_pandas(current[columns], data_definition=definition),
        Dataset.from_pandas(reference[columns], data_definition=definition),
    )


def summary_from_snapshot(
    snapshot: dict[str, Any],
    *,
    order: Sequence[str],
    current_rows: int,
    reference_rows: int,
    drift_share: float = DEFAULT_DRIFT_SHARE,
) -> DriftSummary:
    """The summary of a drift snapshot (``snapshot.dict()``) as Evidently has it.

    Each feature's score, method and threshold come from its ``ValueDrift`` metric and
    its drifted flag from that metric's test (failed = drifted).
    """
    drift_metrics: dict[str, dict[str, Any]] = {}
    for metric in snapshot["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith(":ValueDrift"):
            drift_metrics[config["column"]] = {
                "metric_id": metric["id"],
                "method": config["method"],
                "threshold": float(config["threshold"]),
                "score": float(metric["value"]),
            }
    failed = {
        test["metric_config"]["metric_id"]: test["status"] == "FAIL"
        for test in snapshot.get("tests", [])
        if test.get("id") == "drift"
    }
    features: dict[str, FeatureDrift] = {}
    for column in order:
        m = drift_metrics[column]
        stattest = DISPLAY_TO_STATTEST.get(m["method"], m["method"])
        if m["metric_id"] in failed:
            drifted = failed[m["metric_id"]]
        else:  # tests not included: apply the test's rule
            is_p = STATTESTS.get(stattest, ("", 0, False))[2]
            drifted = _is_drift(stattest, m["score"], m["threshold"], is_p)
        features[column] = FeatureDrift(
            m["method"], stattest, m["score"], m["threshold"], bool(drifted)
        )
    return _summary(features, drift_share, current_rows, reference_rows)


def report_html(snapshot: Any) -> bytes:
    """The snapshot's HTML page, UTF-8 (what Evidently's ``save_html`` writes to a file)."""
    return snapshot.get_html_str(as_iframe=False).encode("utf-8")
