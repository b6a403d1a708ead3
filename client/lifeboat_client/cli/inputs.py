"""What the commands read: instances (JSON, JSON lines or CSV rows) and feedback labels."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

FORMATS = ("json", "jsonl", "csv")
SUFFIXES = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}


class InputError(Exception):
    """A file named on the command line cannot be used; nothing was sent (exit status 2)."""


def read_text(path: str) -> str:
    """The file's text (``-``: standard input)."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"cannot read {path}: not UTF-8 text ({exc.reason})") from None


def check_readable(path: Path) -> None:
    """The error the command line deserves before anything is sent."""
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None


def check_writable(path: Path) -> None:
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"cannot write {path}: {folder} is not a folder")
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder")


def guess_format(path: str, text: str, given: str | None) -> str:
    if given:
        return given
    by_suffix = SUFFIXES.get(Path(path).suffix.lower())
    if by_suffix:
        return by_suffix
    stripped = text.lstrip()
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        first = stripped.splitlines()[0]
        try:
            json.loads(first)
        except json.JSONDecodeError:
            return "json"  # one object over several lines
        return "jsonl" if len(stripped.splitlines()) > 1 else "json"
    return "csv"


def instances(path: str, given: str | None = None) -> list[dict[str, Any]]:
    """Instances from a JSON array (or ``{"instances": [...]}``), JSON lines, or CSV rows
    (a cell that reads as a number is sent as one; an empty cell as null)."""
    text = read_text(path)
    kind = guess_format(path, text, given)
    if kind == "csv":
        rows = [typed_row(r) for r in csv.DictReader(io.StringIO(text))]
    elif kind == "jsonl":
        rows = [_json(path, line, n) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    else:
        rows = _json(path, text, None)
        if isinstance(rows, dict):
            rows = rows.get("instances", [rows])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise InputError(f"cannot read {path}: expected a list of JSON objects (instances)")
    if not rows:
        raise InputError(f"cannot read {path}: it holds no instances")
    return rows


def _json(path: str, text: str, line: int | None) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {line}" if line else f"line {exc.lineno}"
        raise InputError(f"cannot read {path}: invalid JSON at {where}: {exc.msg}") from None


def typed_row(row: dict[str | None, str | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            raise InputError("a CSV row has more cells than the header names")
        out[key] = _cell(value)
    return out


def _cell(value: str | None) -> Any:
    if value is None or value == "":
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except ValueError:
            continue
    return value


def feedback_items(path: str) -> list[dict[str, Any]]:
    """Labels: CSV with ``prediction_id`` and ``actual`` columns, or JSON / JSON lines."""
    text = read_text(path)
    kind = guess_format(path, text, None)
    if kind == "csv":
        rows: Any = list(csv.DictReader(io.StringIO(text)))
    elif kind == "jsonl":
        rows = [_json(path, line, n) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    else:
        rows = _json(path, text, None)
        if isinstance(rows, dict):
            rows = rows.get("items", [])
    if not isinstance(rows, list) or not rows:
        raise InputError(f"cannot read {path}: it holds no labels")
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict) or not row.get("prediction_id") or not row.get("actual"):
            raise InputError(f"cannot read {path}: item {n} lacks prediction_id or actual")
    return [{"prediction_id": r["prediction_id"], "actual": r["actual"]} for r in rows]
