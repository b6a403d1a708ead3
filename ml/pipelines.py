"""Candidate scikit-learn pipelines compared by training."""

from __future__ import annotations

from collections.abc import Callable

from sklearn.base import ClassifierMixin
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

LOGISTIC_MAX_ITER = 1000  # lbfgs iterations; converges in far fewer on small tables


def _preprocess(numeric: list[str], categorical: list[str], *, scale: bool) -> ColumnTransformer:
    numeric_steps: list[tuple[str, object]] = [("impute", SimpleImputer(strategy="median"))]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    categorical_steps = [
        ("impute", SimpleImputer(strategy="most_frequent")),
        ("one_hot", OneHotEncoder(handle_unknown="ignore", sparse_output=False)),
    ]
    return ColumnTransformer(
        [
            ("numeric", Pipeline(numeric_steps), numeric),
            ("categorical", Pipeline(categorical_steps), categorical),
        ],
        remainder="drop",
    )


def logistic_regression(numeric: list[str], categorical: list[str], seed: int) -> Pipeline:
    """Median-imputed, standardised numerics + one-hot categories into a logistic regression."""
    classifier = LogisticRegression(max_iter=LOGISTIC_MAX_ITER, random_state=seed)
    return _pipeline(_preprocess(numeric, categorical, scale=True), classifier)


def hist_gradient_boosting(numeric: list[str], categorical: list[str], seed: int) -> Pipeline:
    """Median-imputed numerics + one-hot categories into gradient-boosted trees."""
    classifier = HistGradientBoostingClassifier(random_state=seed)
    return _pipeline(_preprocess(numeric, categorical, scale=False), classifier)


def _pipeline(preprocess: ColumnTransformer, classifier: ClassifierMixin) -> Pipeline:
    return Pipeline([("preprocess", preprocess), ("classifier", classifier)])


CANDIDATES: dict[str, Callable[[list[str], list[str], int], Pipeline]] = {
    "logistic_regression": logistic_regression,
    "hist_gradient_boosting": hist_gradient_boosting,
}
