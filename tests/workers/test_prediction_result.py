"""A prediction job's result JSON reads as the dicts it stands for, whatever its labels and ids."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from workers.predictions.scoring import predictions_json


def reference(
    job_id: str, version: str, labels: list[str], *, ids: list[Any], chosen: list[str], rows: list
) -> dict[str, Any]:
    return {
        "predictions": [
            {
                "id": client_id,
                "prediction_id": f"{job_id}-{n}",
                "prediction": label,
                "probabilities": dict(zip(labels, row, strict=True)),
                "model_version": version,
            }
            for n, (client_id, label, row) in enumerate(zip(ids, chosen, rows, strict=True))
        ]
    }


@pytest.mark.parametrize(
    ("labels", "version", "ids"),
    [
        (["died", "survived"], "v1", [None, "alice", 3]),
        (['say "%s"', "100%", "ünï\\code\n"], "v%d 'q'", ['"quoted"', "%s%%", "\u2028"]),
    ],
)
def test_the_template_result_parses_to_the_same_predictions(
    labels: list[str], version: str, ids: list[Any]
) -> None:
    rows = [[0.1, 0.2, 0.7][: len(labels)], [1e-05, 0.99999, 0.0][: len(labels)], [0.5] * 3]
    rows = [r[: len(labels)] for r in rows]
    chosen = [labels[-1], labels[0], labels[0]]
    job_id = "0f1e2d3c-0000-4000-8000-000000000000"
    raw = predictions_json(job_id, version, labels, ids=ids, chosen=chosen, rows=rows)
    assert json.loads(bytes(raw)) == reference(
        job_id, version, labels, ids=ids, chosen=chosen, rows=rows
    )


def test_floats_read_back_to_the_same_doubles() -> None:
    values = [0.1 + 0.2, 1 / 3, 5e-324, 0.9999999999999999]
    raw = predictions_json(
        "j", "v", ["a", "b"], ids=[None] * 2, chosen=["a", "b"], rows=[values[:2], values[2:]]
    )
    got = json.loads(bytes(raw))["predictions"]
    assert [list(p["probabilities"].values()) for p in got] == [values[:2], values[2:]]


@pytest.mark.parametrize("labels", [["died", "survived"], ['say "hi"', "back\\slash"]])
def test_the_result_is_the_dicts_encoded_fields_in_the_api_order(labels: list[str]) -> None:
    rows = [[0.25, 0.75], [1 / 3, 2 / 3]]
    ids: list[Any] = ["alice", None]
    chosen = [labels[1], labels[0]]
    raw = predictions_json("j", "v1", labels, ids=ids, chosen=chosen, rows=rows)
    expected = reference("j", "v1", labels, ids=ids, chosen=chosen, rows=rows)
    assert bytes(raw) == msgspec.json.encode(expected)
