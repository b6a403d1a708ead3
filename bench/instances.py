"""Valid prediction instances for the benchmark, drawn from the feature schema's ranges."""

from __future__ import annotations

import json
import random
from typing import Any

SAMPLE_INSTANCE: dict[str, Any] = {
    "pclass": 1,
    "sex": "female",
    "age": 29.0,
    "sibsp": 0,
    "parch": 0,
    "fare": 211.3,
    "embarked": "S",
}


def random_instance(rng: random.Random) -> dict[str, Any]:
    """One plausible passenger."""
    return {
        "pclass": rng.randint(1, 3),
        "sex": rng.choice(("female", "male")),
        "age": round(rng.uniform(0.5, 80.0), 1),
        "sibsp": rng.randint(0, 4),
        "parch": rng.randint(0, 3),
        "fare": round(rng.uniform(0.0, 300.0), 2),
        "embarked": rng.choice(("C", "Q", "S")),
    }


def request_bodies(instances: int, variants: int, seed: int = 0) -> list[bytes]:
    """``variants`` encoded ``POST /predictions`` bodies of ``instances`` instances each."""
    rng = random.Random(seed)
    return [
        json.dumps({"instances": [random_instance(rng) for _ in range(instances)]}).encode()
        for _ in range(variants)
    ]
