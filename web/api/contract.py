"""An operation's request, defined once: read and checked from here, documented from here.

A :class:`Param` is a query or header parameter with its JSON Schema; an
:class:`Operation` holds an endpoint's parameters, its body schemas (by media
type) and its documented answers, and is attached to the view it describes
(``@bp.get(...)`` then ``@OPERATION``). Schemas may depend on the settings or the
installed model versions: they are then functions of :class:`~web.services.Services`,
called both to check a request and to write the document.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import request

from core.errors import InvalidRequest
from web.api.components import BEARER_SCHEME, FORBIDDEN, UNAUTHORIZED, components
from web.api.validation import Problem, Schema, problems
from web.bodies import json_body
from web.services import Services

SchemaSource = Schema | Callable[[Services], Schema]
View = TypeVar("View", bound=Callable[..., Any])
JSON = "application/json"


def resolve(source: SchemaSource, svc: Services) -> Schema:
    return source(svc) if callable(source) else source


@dataclass(frozen=True)
class Param:
    """A query or header parameter: its name, where it is sent, its schema."""

    name: str
    location: str  # "query" or "header"
    schema: SchemaSource
    description: str = ""
    required: bool = False

    def openapi(self, svc: Services) -> dict[str, Any]:
        doc = {"name": self.name, "in": self.location, "required": self.required}
        if self.description:
            doc["description"] = self.description
        return {**doc, "schema": resolve(self.schema, svc)}

    def read(self, svc: Services, errors: list[Problem]) -> Any:
        """The parameter's value (its schema's default when absent); problems go to ``errors``."""
        source = request.args if self.location == "query" else request.headers
        raw = source.getlist(self.name)
        schema = resolve(self.schema, svc)
        loc = [self.location, self.name]
        if not raw:
            if self.required:
                errors.append({"loc": loc, "msg": "required"})
            return schema.get("default")
        if len(raw) > 1:
            errors.append({"loc": loc, "msg": "must be given once"})
            return None
        value = _typed(raw[0], schema.get("type"))
        if value is _NOT_TYPED:
            errors.append({"loc": loc, "msg": f"must be {_article(schema.get('type'))}"})
            return None
        found = problems(schema, value, loc)
        errors += [{"loc": loc, "msg": p["msg"]} for p in found]
        return None if found else value


_NOT_TYPED = object()


def _article(kind: Any) -> str:
    return {"integer": "an integer", "number": "a number"}.get(kind, f"a {kind}")


def _typed(raw: str, kind: Any) -> Any:
    """A parameter's text as its schema's type (``_NOT_TYPED`` when it cannot be)."""
    try:
        if kind == "integer":
            return int(raw, 10) if raw.strip() == raw else _NOT_TYPED
        if kind == "number":
            value = float(raw) if raw.strip() == raw else math.nan
            return value if math.isfinite(value) else _NOT_TYPED
    except ValueError:
        return _NOT_TYPED
    return raw


@dataclass(frozen=True)
class Operation:
    """One endpoint's contract; ``bodies`` maps a media type to its schema."""

    summary: str
    responses: Mapping[str, Any]
    description: str = ""
    tags: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    bodies: Mapping[str, SchemaSource] = field(default_factory=dict)
    body_required: bool = True
    examples: Mapping[str, Any] = field(default_factory=dict)  # media type → an example body
    deprecated: bool = False
    # who may call it: ``public`` needs no key; otherwise an API key holding one of
    # ``scopes`` (``admin`` holds them all; no scopes: any usable key). Unsaid: admin only.
    scopes: tuple[str, ...] = ("admin",)
    public: bool = False
    # components the route checks itself with the code the schema is made from (an
    # instance: ml.schema's checks of the model card, faster on 1,000 instances)
    checked_by_route: tuple[str, ...] = ()
    # counted against the caller's API key rate limit (429 past it; ``web.rate_limits``);
    # False for public operations: health, readiness, metrics, the docs
    rate_limited: bool = True

    def __post_init__(self) -> None:
        if self.public and self.rate_limited:
            raise ValueError("a public operation is not rate limited: say rate_limited=False")

    def __call__(self, view: View) -> View:
        view.operation = self  # type: ignore[attr-defined]
        return view

    def read_params(self, svc: Services) -> dict[str, Any]:
        """Every parameter's value by name; 422 naming each bad one."""
        errors: list[Problem] = []
        values = {p.name: p.read(svc, errors) for p in self.params}
        if errors:
            raise InvalidRequest(_count(errors, "parameter"), errors=errors)
        return values

    def read_json(self, svc: Services) -> tuple[Any, bytes]:
        """The JSON body checked against its schema, and its raw bytes; 4xx naming each field."""
        body, raw = json_body(svc.settings.max_json_bytes)
        self.check(JSON, svc, body)
        return body, raw

    def check(self, media_type: str, svc: Services, value: Any) -> None:
        """422 naming every field of ``value`` that breaks the body schema of ``media_type``."""
        found = problems(self.body_schema(media_type, svc), value)
        if found:  # with the versions the schema cannot know, so one 422 names every field
            found += unknown_versions(svc, value, found)
            raise InvalidRequest(_count(found, "field"), errors=found)

    def body_schema(self, media_type: str, svc: Services) -> Schema:
        """A body's schema to check a request with, the document's components alongside
        for its ``$ref``s (those in ``checked_by_route`` only required to be objects)."""
        comps = components(svc)
        comps["schemas"].update({key: {"type": "object"} for key in self.checked_by_route})
        return {**resolve(self.bodies[media_type], svc), "components": comps}

    def openapi(self, svc: Services, path_params: list[str]) -> dict[str, Any]:
        doc: dict[str, Any] = {"summary": self.summary}
        if self.description:
            doc["description"] = self.description
        if self.tags:
            doc["tags"] = list(self.tags)
        if self.deprecated:
            doc["deprecated"] = True
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in path_params
        ]
        params += [p.openapi(svc) for p in self.params]
        if params:
            doc["parameters"] = params
        if self.bodies:
            content: dict[str, Any] = {}
            for media_type, source in self.bodies.items():
                content[media_type] = {"schema": resolve(source, svc)}
                if media_type in self.examples:
                    content[media_type]["example"] = self.examples[media_type]
            doc["requestBody"] = {"required": self.body_required, "content": content}
        doc["responses"] = dict(self.responses)
        if self.public:
            doc["security"] = []
        else:
            doc["security"] = [{BEARER_SCHEME: [s]} for s in self.scopes] or [{BEARER_SCHEME: []}]
            doc["responses"].setdefault("401", UNAUTHORIZED)
            if self.scopes:
                doc["responses"].setdefault("403", FORBIDDEN)
            needs = " or ".join(f"`{s}`" for s in self.scopes) or "any scope"
            access = f"Needs an API key with the scope {needs} (`admin` holds every scope)."
            doc["description"] = f"{doc['description']}\n\n{access}" if self.description else access
        return doc


VERSION_FIELDS = ("model_version", "baseline", "candidate")  # a body's fields naming a version


def unknown_versions(svc: Services, body: Any, found: list[Problem]) -> list[Problem]:
    """The problems of a body's version fields that name no installed version (the schema
    says "string": versions come and go; ``Catalog.resolve`` names the field), other than
    those already ``found``."""
    if not isinstance(body, dict):
        return []
    named = [loc["loc"] for loc in found]
    extra: list[Problem] = []
    for field_name in VERSION_FIELDS:
        value = body.get(field_name)
        if isinstance(value, str) and [field_name] not in named:
            try:
                svc.catalog.resolve(value, field_name)
            except InvalidRequest as exc:
                extra += exc.errors
    return extra


def _count(errors: list[Problem], what: str) -> str:
    n = len(errors)
    return f"{n} invalid {what}{'s' if n != 1 else ''}"
