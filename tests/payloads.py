"""Request bodies the tests send."""

from __future__ import annotations

from typing import Any

PASSENGER: dict[str, Any] = {
    "pclass": 1,
    "sex": "female",
    "age": 29.0,
    "sibsp": 0,
    "parch": 0,
    "fare": 211.34,
    "embarked": "S",
}


def passengers(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        p = dict(PASSENGER)
        p.update(
            pclass=1 + i % 3,
            sex=("male", "female")[i % 2],
            age=float(1 + i % 70),
            fare=float(5 + i % 200),
            embarked="SCQ"[i % 3],
            id=f"p{i}",
        )
        out.append(p)
    return out
