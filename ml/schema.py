"""Feature schema: derived by training, stored in the model card, used to validate requests.

Standard library only at import time: the web process validates requests with it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Literal

from ml.errors import InvalidInstances

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_MAX_INSTANCES = 1000  # instances accepted in one prediction request
MAX_ID_LENGTH = 128  # characters of a client-supplied instance id
EXACT_RANGE_MAX_DISTINCT = 10  # integer columns with at most this many values keep [min, max]
ID_FIELD = "id"  # optional client id carried through to the prediction

Kind = Literal["numeric", "categorical"]


@dataclass(frozen=True)
class Feature:
    """One model input: its type, allowed values and whether it may be missing."""

    name: str
    kind: Kind
    integer: bool = False
    categories: list[str] | None = None
    minimum: float | None = None
    maximum: float | None = None
    nullable: bool = False


@dataclass(frozen=True)
class FeatureSchema:
    """The ordered model inputs and the class labels the model predicts."""

    features: list[Feature]
    class_labels: list[str]

    def __post_init__(self) -> None:
        names = [f.name for f in self.features]
        if len(set(names)) != len(names):
            raise ValueError("duplicate feature names")
        if ID_FIELD in names:
            raise ValueError(f"a feature cannot be named {ID_FIELD!r}: it is the client id")

    @property
    def feature_names(self) -> list[str]:
        """Feature names in model order."""
        return [f.name for f in self.features]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe representation (stored in the model card)."""
        return {
            "features": [asdict(f) for f in self.features],
            "class_labels": list(self.class_labels),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSchema:
        """Inverse of :meth:`to_dict`."""
        features = [
            Feature(
                name=f["name"],
                kind=f["kind"],
                integer=bool(f.get("integer", False)),
                categories=list(f["categories"]) if f.get("categories") is not None else None,
                minimum=_optional_float(f.get("minimum")),
                maximum=_optional_float(f.get("maximum")),
                nullable=bool(f.get("nullable", False)),
            )
            for f in data["features"]
        ]
        return cls(features=features, class_labels=list(data["class_labels"]))


def _optional_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def plausible_range(
    minimum: float, maximum: float, *, integer: bool, distinct: int
) -> tuple[float, float]:
    """Valid range of a numeric feature given the values observed in training.

    The range must accept plausible unseen values (an 81-year-old passenger when
    the oldest seen was 80), not only the exact observed span:

    - integer-valued columns with at most ``EXACT_RANGE_MAX_DISTINCT`` distinct
      values (codes such as a passenger class) keep exactly ``[min, max]``;
    - non-negative columns get ``[0, 2 * max]`` (``[0, 1]`` if max is 0);
    - other columns get ``[min - span, max + span]`` with ``span = max - min``
      (``span = max(|min|, 1)`` when all values are equal).
    """
    if integer and distinct <= EXACT_RANGE_MAX_DISTINCT:
        return float(minimum), float(maximum)
    if minimum >= 0:
        return 0.0, (float(2 * maximum) if maximum > 0 else 1.0)
    span = maximum - minimum or max(abs(minimum), 1.0)
    return float(minimum - span), float(maximum + span)


def derive_schema(df: pd.DataFrame, features: list[str], class_labels: list[str]) -> FeatureSchema:
    """Derive the feature schema from typed training data.

    Kind comes from the dtype (numeric dtypes other than bool are numeric, the
    rest categorical); categories are the sorted observed values; ``nullable``
    is true when the column had missing values; ranges follow
    :func:`plausible_range`.
    """
    from pandas.api import types as ptypes

    derived: list[Feature] = []
    for name in features:
        column = df[name]
        present = column.dropna()
        nullable = bool(len(present) < len(column))
        if ptypes.is_numeric_dtype(column) and not ptypes.is_bool_dtype(column):
            if present.empty:
                raise ValueError(f"numeric feature {name!r} has no values")
            values = present.astype("float64")
            integer = bool((values == values.round()).all())
            lo, hi = plausible_range(
                float(values.min()),
                float(values.max()),
                integer=integer,
                distinct=int(values.nunique()),
            )
            derived.append(Feature(name, "numeric", integer, None, lo, hi, nullable))
        else:
            categories = sorted({str(v) for v in present})
            derived.append(Feature(name, "categorical", False, categories, None, None, nullable))
    return FeatureSchema(features=derived, class_labels=list(class_labels))


def _format_number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _check_numeric(feature: Feature, value: object) -> tuple[float | None, str | None]:
    """Return (cleaned value, None) or (None, error message)."""
    if type(value) is bool or not isinstance(value, int | float):
        return None, "must be a number"
    try:
        number = float(value)
    except OverflowError:  # an integer too large for a float
        return None, _range_message(feature)
    if not math.isfinite(number):
        return None, "must be a finite number"
    if feature.integer and not number.is_integer():
        return None, "must be an integer"
    lo, hi = feature.minimum, feature.maximum
    if (lo is not None and number < lo) or (hi is not None and number > hi):
        return None, _range_message(feature)
    return number, None


def _range_message(feature: Feature) -> str:
    lo, hi = feature.minimum, feature.maximum
    lo_text = "-inf" if lo is None else _format_number(lo)
    hi_text = "inf" if hi is None else _format_number(hi)
    return f"must be between {lo_text} and {hi_text}"


def _check_categorical(allowed: frozenset[str], message: str, value: object) -> str | None:
    if not isinstance(value, str):
        return "must be a string"
    if value not in allowed:
        return message
    return None


def _check_id(value: object) -> str | None:
    if type(value) is bool or not isinstance(value, str | int):
        return "must be a string or an integer"
    if isinstance(value, str) and len(value) > MAX_ID_LENGTH:
        return f"must be at most {MAX_ID_LENGTH} characters"
    return None


FeatureCheck = tuple[Feature, frozenset[str] | None, str]


def _feature_checks(schema: FeatureSchema) -> list[FeatureCheck]:
    """Per feature: the feature, its allowed categories (None if numeric), the category error."""
    checks: list[FeatureCheck] = []
    for feature in schema.features:
        if feature.kind == "categorical":
            allowed = frozenset(feature.categories or ())
            listing = ", ".join(repr(c) for c in sorted(allowed))
            checks.append((feature, allowed, f"must be one of: {listing}"))
        else:
            checks.append((feature, None, ""))
    return checks


def _clean_instance(
    checks: list[FeatureCheck],
    allowed_keys: set[str],
    instance: dict,
    loc: list,
    errors: list[dict],
) -> dict[str, Any]:
    """The cleaned instance; problems are appended to ``errors`` with ``loc`` + field."""
    cleaned: dict[str, Any] = {}
    for feature, allowed, message in checks:
        name = feature.name
        if name not in instance:
            errors.append({"loc": [*loc, name], "msg": "field required"})
            continue
        value = instance[name]
        if value is None:
            if not feature.nullable:
                errors.append({"loc": [*loc, name], "msg": "may not be null"})
            cleaned[name] = None
            continue
        if allowed is None:
            number, problem = _check_numeric(feature, value)
            cleaned[name] = number
        else:
            problem = _check_categorical(allowed, message, value)
            cleaned[name] = value
        if problem is not None:
            errors.append({"loc": [*loc, name], "msg": problem})
    if ID_FIELD in instance:
        problem = _check_id(instance[ID_FIELD])
        if problem is not None:
            errors.append({"loc": [*loc, ID_FIELD], "msg": problem})
        cleaned[ID_FIELD] = instance[ID_FIELD]
    unknown = instance.keys() - allowed_keys
    if unknown:
        errors.extend(
            {"loc": [*loc, key], "msg": "unknown field"} for key in instance if key in unknown
        )
    return cleaned


def validate_instances(
    schema: FeatureSchema,
    instances: object,
    *,
    max_instances: int = DEFAULT_MAX_INSTANCES,
    loc_prefix: tuple = ("instances",),
) -> list[dict]:
    """Check instances against the schema and return cleaned copies.

    Cleaned instances hold every feature in schema order (numeric values as
    ``float``, categories as ``str``, ``None`` for missing) plus the client
    ``"id"`` when given. Raises :class:`InvalidInstances` listing every bad
    field; each error's ``loc`` is ``loc_prefix`` + index + field name.
    """
    prefix = list(loc_prefix)
    if not isinstance(instances, list):
        raise InvalidInstances([{"loc": prefix, "msg": "must be a list of objects"}])
    if not instances:
        raise InvalidInstances([{"loc": prefix, "msg": "must contain at least 1 instance"}])
    if len(instances) > max_instances:
        message = f"must contain at most {max_instances} instances, got {len(instances)}"
        raise InvalidInstances([{"loc": prefix, "msg": message}])

    checks = _feature_checks(schema)
    allowed_keys = {*schema.feature_names, ID_FIELD}
    errors: list[dict] = []
    cleaned_rows: list[dict] = []
    for index, instance in enumerate(instances):
        if isinstance(instance, dict):
            loc = [*prefix, index]
            cleaned_rows.append(_clean_instance(checks, allowed_keys, instance, loc, errors))
        else:
            errors.append({"loc": [*prefix, index], "msg": "must be an object"})
    if errors:
        raise InvalidInstances(errors)
    return cleaned_rows
