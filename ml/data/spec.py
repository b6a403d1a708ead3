"""Dataset specifications: the only place that knows about a concrete dataset."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DatasetSpec:
    """Everything training and loading need to know about one tabular dataset."""

    name: str
    default_path: Path
    target: str
    features: tuple[str, ...]
    categorical_features: tuple[str, ...]
    leaking_columns: tuple[str, ...]
    class_labels: dict[int, str]
    sha256: str
    na_marker: str

    def __post_init__(self) -> None:
        unknown = set(self.categorical_features) - set(self.features)
        if unknown:
            raise ValueError(f"categorical features not among features: {sorted(unknown)}")
        leaking = set(self.leaking_columns) & (set(self.features) | {self.target})
        if leaking:
            raise ValueError(f"leaking columns used as features or target: {sorted(leaking)}")
        if self.target in self.features:
            raise ValueError("the target cannot be a feature")

    @property
    def numeric_features(self) -> tuple[str, ...]:
        """Features that are not categorical, in declaration order."""
        return tuple(f for f in self.features if f not in self.categorical_features)


TITANIC = DatasetSpec(
    name="titanic",
    default_path=REPO_ROOT / "data" / "raw" / "titanic.csv",
    target="survived",
    features=("pclass", "sex", "age", "sibsp", "parch", "fare", "embarked"),
    categorical_features=("sex", "embarked"),
    leaking_columns=("boat", "body", "home.dest"),
    class_labels={0: "died", 1: "survived"},
    sha256="c617db2c7470716250f6f001be51304c76bcc8815527ab8bae734bdca0735737",
    na_marker="?",
)
