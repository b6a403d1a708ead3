"""JSON Schema validation that names every bad field (``loc``) in the API's own words."""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema_rs
import msgspec

_canonical = functools.partial(msgspec.json.encode, order="sorted")

Schema = dict[str, Any]
Problem = dict[str, Any]  # {"loc": [...], "msg": "..."}

_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "object": "an object",
    "array": "an array",
    "boolean": "a boolean",
    "null": "null",
}


@functools.lru_cache(maxsize=256)
def _compiled(text: bytes) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(json.loads(text), validate_formats=True)


DESCRIBED_DEPTH = 32  # levels of a bad value described field by field (ours are ~5 deep)


def validator(schema: Schema) -> jsonschema_rs.Validator:
    """A compiled validator for ``schema`` (cached by its canonical JSON: compiling is cheap,
    but a body is validated on every request; msgspec writes the key, as the standard
    library's ``json.dumps(sort_keys=True)`` took ~30 us a request for the body schemas)."""
    return _compiled(_canonical(schema))


def problems(schema: Schema, value: Any, root: list[Any] | None = None) -> list[Problem]:
    """Every way ``value`` breaks ``schema``, each with the ``loc`` of the field at fault.

    ``root`` is the ``loc`` of ``value`` itself (``["body"]`` by default, used only when
    the value as a whole is wrong).
    """
    check = validator(schema)
    if check.is_valid(value):
        return []
    found: list[Problem] = []
    try:
        errors = list(check.iter_errors(value))
    except ValueError:  # its error objects recurse into the value: describe a shallow copy
        cut: list[list[Any]] = []
        errors = list(check.iter_errors(_shallow(value, [], cut)))
        if not errors:  # what is wrong lies below the cut
            found += [{"loc": loc, "msg": "nested too deeply"} for loc in cut]
    for error in errors:
        for loc, msg in _describe(schema, error):
            entry = {"loc": loc or list(root or ["body"]), "msg": msg}
            if entry not in found:
                found.append(entry)
    return found


def _shallow(value: Any, path: list[Any], cut: list[list[Any]]) -> Any:
    """``value`` with every list or object deeper than ``DESCRIBED_DEPTH`` emptied (their
    paths go to ``cut``): jsonschema-rs describes errors of values some hundreds deep
    by recursing until it fails, while no schema of ours looks that deep."""
    if isinstance(value, dict | list) and len(path) >= DESCRIBED_DEPTH:
        cut.append(path)
        return type(value)()
    if isinstance(value, dict):
        return {k: _shallow(v, [*path, k], cut) for k, v in value.items()}
    if isinstance(value, list):
        return [_shallow(v, [*path, i], cut) for i, v in enumerate(value)]
    return value


def _describe(schema: Schema, error: jsonschema_rs.ValidationError) -> list[tuple[list, str]]:
    kind = error.kind
    path = list(error.instance_path)
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required):
        return [([*path, kind.property], "field required")]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.AdditionalProperties):
        return [([*path, name], "unknown field") for name in kind.unexpected]
    if isinstance(kind, jsonschema_rs.ValidationErrorKind.OneOfNotValid):
        # the one alternative whose shape fits (its errors all lie deeper) says what is wrong
        fitting = [
            b for b in kind.context if b and all(len(e.instance_path) > len(path) for e in b)
        ]
        if len(fitting) == 1:
            return [found for e in fitting[0] for found in _describe(schema, e)]
    return [(path, _message(schema, error))]


def _message(schema: Schema, error: jsonschema_rs.ValidationError) -> str:
    kind = error.kind
    kinds = jsonschema_rs.ValidationErrorKind
    node = _node(schema, list(error.schema_path)[:-1])
    if isinstance(kind, kinds.OneOfNotValid | kinds.OneOfMultipleValid) and "description" in node:
        return node["description"]
    if isinstance(kind, kinds.Type | kinds.AnyOf | kinds.Enum):
        return f"must be {_expected(node)}"
    if isinstance(kind, kinds.Minimum | kinds.Maximum | kinds.MinItems | kinds.MaxItems):
        return f"must be {_expected(node)}"
    if isinstance(kind, kinds.MinLength | kinds.MaxLength | kinds.Pattern):
        return f"must be {_expected(node)}"
    if isinstance(kind, kinds.ExclusiveMinimum):
        return f"must be greater than {kind.limit}"
    if isinstance(kind, kinds.ExclusiveMaximum):
        return f"must be less than {kind.limit}"
    if isinstance(kind, kinds.Format):
        return f"must be {'an RFC 3339 date-time' if kind.format == 'date-time' else kind.format}"
    return node.get("description") or "invalid value"


def _node(schema: Schema, pointer: list[Any]) -> Schema:
    node: Any = schema
    for step in pointer:
        node = node[step]
    return node if isinstance(node, dict) else {}


def _expected(node: Schema) -> str:
    """What a value must be, in words, from its schema node."""
    if "enum" in node:
        return "one of " + ", ".join(str(v) for v in node["enum"])
    for key in ("anyOf", "oneOf"):
        if key in node:
            return " or ".join(_expected(alt) for alt in node[key])
    kind = node.get("type", "")
    if isinstance(kind, list):  # {"type": ["object", "null"]}: each in words
        return " or ".join(_expected({**node, "type": k}) for k in kind)
    words = _TYPE_WORDS.get(kind, kind or "valid")
    if kind in ("integer", "number"):
        low, high = node.get("minimum"), node.get("maximum")
        if low is not None and high is not None:
            return f"{words} from {low:g} to {high:g}"
        if low is not None:
            return f"{words} of at least {low:g}"
        if high is not None:
            return f"{words} of at most {high:g}"
    if kind == "array":
        low, high = node.get("minItems", 0), node.get("maxItems")
        return f"a list of {low} to {high} items" if high else f"a list of at least {low} items"
    if kind == "string":
        low, high = node.get("minLength", 0), node.get("maxLength")
        size = f" of {low} to {high} characters" if high else ""
        pattern = f" matching {node['pattern']}" if "pattern" in node else ""
        return f"a string{size}{pattern}"
    return words
