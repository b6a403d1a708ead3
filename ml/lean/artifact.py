"""The lean artifact: a :class:`~ml.lean.scorer.LeanScorer` saved as numpy data (``lean.npz``).

One ``.npz`` file (read with ``allow_pickle=False``, so loading it runs no
code): a ``meta`` entry holding JSON (format, classes, block layout, category
lists, head kind) and one array per fitted parameter. Loading needs numpy only,
which is what keeps scoring worker processes free of scikit-learn, scipy and
pandas. Its sha256 is recorded in the model card and checked before loading,
like the skops file's.
"""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import numpy as np

from ml.errors import ArtifactIntegrityError, UnsupportedPipeline
from ml.lean.scorer import Block, CategoricalBlock, LeanScorer, LogisticHead, NumericBlock
from ml.lean.trees import CompiledTrees

FORMAT = 1  # bumped when the layout changes; an unknown format is refused
NUMERIC_ARRAYS = ("fill", "mean", "scale")


def _plain(value: object) -> object:
    """A JSON-safe scalar (category, fill value or class), else UnsupportedPipeline."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, str | bool | int | float):
        return value
    raise UnsupportedPipeline(f"value {value!r} of type {type(value).__name__} cannot be saved")


def _categories(block: CategoricalBlock) -> list[list[object]]:
    lists = []
    position = 0
    for offsets in block.offsets:
        ordered = sorted(offsets.items(), key=lambda item: item[1])
        if [p for _, p in ordered] != list(range(position, position + len(ordered))):
            raise UnsupportedPipeline("one-hot positions are not contiguous")
        lists.append([_plain(value) for value, _ in ordered])
        position += len(ordered)
    return lists


def dumps(scorer: LeanScorer) -> bytes:
    """The scorer as ``.npz`` bytes; UnsupportedPipeline if its head is not numpy data."""
    arrays: dict[str, np.ndarray] = {}
    blocks: list[dict[str, Any]] = []
    for i, block in enumerate(scorer.blocks):
        if isinstance(block, NumericBlock):
            present = []
            for name in NUMERIC_ARRAYS:
                value = getattr(block, name)
                if value is not None:
                    arrays[f"block{i}.{name}"] = np.asarray(value, dtype=np.float64)
                    present.append(name)
            spec = {"kind": "numeric", "columns": block.columns, "start": block.start}
            blocks.append({**spec, "arrays": present})
        else:
            blocks.append(
                {
                    "kind": "categorical",
                    "columns": block.columns,
                    "start": block.start,
                    "width": block.width,
                    "fill": [_plain(v) for v in block.fill],
                    "categories": _categories(block),
                }
            )
    head = scorer.head
    if isinstance(head, LogisticHead):
        kind = "logistic"
        arrays["head.coef_t"] = head.coef_t
        arrays["head.intercept"] = head.intercept
    elif isinstance(head, CompiledTrees):
        kind = "trees"
        arrays.update({f"head.{k}": v for k, v in head.to_arrays().items()})
    else:
        raise UnsupportedPipeline(f"a {scorer.estimator_name} head cannot be saved as numpy data")
    meta = {
        "format": FORMAT,
        "estimator": scorer.estimator_name,
        "n_columns": scorer.n_columns,
        "classes": [_plain(c) for c in np.asarray(scorer.classes).tolist()],
        "head": kind,
        "blocks": blocks,
    }
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _block(i: int, spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> Block:
    columns = [str(c) for c in spec["columns"]]
    if spec["kind"] == "numeric":
        values = {name: arrays.get(f"block{i}.{name}") for name in NUMERIC_ARRAYS}
        return NumericBlock(columns=columns, start=int(spec["start"]), **values)
    offsets: list[dict[object, int]] = []
    position = 0
    for categories in spec["categories"]:
        offsets.append({value: position + k for k, value in enumerate(categories)})
        position += len(categories)
    if position != spec["width"] or not len(offsets) == len(columns) == len(spec["fill"]):
        raise ArtifactIntegrityError(f"lean artifact: block {i} is inconsistent")
    return CategoricalBlock(
        columns=columns,
        fill=list(spec["fill"]),
        offsets=offsets,
        start=int(spec["start"]),
        width=int(spec["width"]),
    )


def loads(data: bytes) -> LeanScorer:
    """The scorer saved by :func:`dumps`; ArtifactIntegrityError if it is malformed."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
        meta = json.loads(arrays.pop("meta").tobytes().decode("utf-8"))
        if meta.get("format") != FORMAT:
            raise ArtifactIntegrityError(f"lean artifact format {meta.get('format')!r} unknown")
        blocks = [_block(i, spec, arrays) for i, spec in enumerate(meta["blocks"])]
        if meta["head"] == "logistic":
            head: LogisticHead | CompiledTrees = LogisticHead(
                coef_t=arrays["head.coef_t"], intercept=arrays["head.intercept"]
            )
        elif meta["head"] == "trees":
            head = CompiledTrees.from_arrays(
                {k.removeprefix("head."): v for k, v in arrays.items() if k.startswith("head.")}
            )
        else:
            raise ArtifactIntegrityError(f"lean artifact head {meta['head']!r} unknown")
        n_columns = int(meta["n_columns"])
    except (ValueError, KeyError, TypeError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise ArtifactIntegrityError(f"unreadable lean artifact: {exc}") from exc
    if sum(b.width for b in blocks) != n_columns:
        raise ArtifactIntegrityError("lean artifact: block widths do not add up")
    return LeanScorer(blocks, n_columns, head, np.array(meta["classes"]), str(meta["estimator"]))
