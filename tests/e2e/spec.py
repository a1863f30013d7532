"""Validate Discord REST bodies against the vendored discord-api-spec (OpenAPI 3.1).

The spec is read from ``tests/data/discord-api-spec/openapi.json`` (never from elsewhere).
Request and response schemas are JSON Schema 2020-12 with document-local ``$ref``s, so the
whole document is registered as one resource and each schema is validated through a
``$ref`` into it. Schemas are open (no ``additionalProperties: false``), so keys discord.py
sends that the spec does not list are accepted without loosening anything.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import referencing
from jsonschema.exceptions import ValidationError, relevance
from referencing.jsonschema import DRAFT202012

SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "discord-api-spec" / "openapi.json"
SPEC_URI = "urn:discord-api-spec:openapi.json"
API_PREFIX = "/api/v10"


class SpecValidationError(AssertionError):
    """A body does not match the spec schema (message lists every error)."""


@functools.cache
def load_spec() -> dict[str, Any]:
    """Return the parsed OpenAPI document (loaded once)."""
    with SPEC_PATH.open(encoding="utf-8") as fh:
        return json.load(fh)


@functools.cache
def _registry() -> referencing.Registry:
    resource = referencing.Resource.from_contents(load_spec(), default_specification=DRAFT202012)
    return referencing.Registry().with_resource(SPEC_URI, resource)


@functools.cache
def _path_patterns() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Regexes for every spec path; templates with more literal segments come first."""
    items: list[tuple[int, re.Pattern[str], str]] = []
    for template in load_spec()["paths"]:
        parts = template.strip("/").split("/")
        regex = "/".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        n_params = sum(p.startswith("{") for p in parts)
        items.append((n_params, re.compile(f"^/{regex}$"), template))
    items.sort(key=lambda t: t[0])
    return tuple((pattern, template) for _, pattern, template in items)


def match_path(path: str) -> str | None:
    """Map a concrete path (``/api/v10`` prefix and query allowed) to its spec template."""
    path = path.split("?", 1)[0]
    if path.startswith(API_PREFIX):
        path = path[len(API_PREFIX) :]
    if path in load_spec()["paths"]:
        return path
    for pattern, template in _path_patterns():
        if pattern.match(path):
            return template
    return None


def _pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@functools.cache
def _validator(pointer: str) -> jsonschema.Draft202012Validator:
    schema = {"$ref": f"{SPEC_URI}#{pointer}"}
    return jsonschema.Draft202012Validator(schema, registry=_registry())


def _resolve_template(path: str) -> str:
    template = match_path(path)
    if template is None:
        raise SpecValidationError(f"path {path!r} matches no template in the Discord spec")
    return template


def _operation(method: str, template: str) -> dict[str, Any]:
    op = load_spec()["paths"][template].get(method.lower())
    if op is None:
        raise SpecValidationError(f"{method.upper()} {template} is not in the Discord spec")
    return op


def _leaves(err: ValidationError) -> list[ValidationError]:
    if not err.context:
        return [err]
    return [leaf for sub in err.context for leaf in _leaves(sub)]


def _deepest(err: ValidationError) -> ValidationError:
    """The leaf error (through anyOf/oneOf alternatives) that got furthest into the body."""
    leaves = sorted(_leaves(err), key=relevance)
    # A wrong discriminator ("type": 2 is not one of [10]) only says "other alternative".
    real = [
        e
        for e in leaves
        if not (e.validator in ("enum", "const") and list(e.absolute_path)[-1:] == ["type"])
    ]
    return max(real or leaves, key=lambda e: len(e.absolute_path))


def _check(pointer: str, body: Any, what: str) -> None:
    errors = sorted(_validator(pointer).iter_errors(body), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    lines = [f"{what} does not match the Discord spec ({len(errors)} error(s)):"]
    for err in errors:
        where = "/".join(str(p) for p in err.absolute_path) or "<root>"
        lines.append(f"  - at {where}: {err.message[:300]}")
        if err.context:
            best = _deepest(err)
            best_where = "/".join(str(p) for p in best.absolute_path) or "<root>"
            lines.append(f"      most likely: at {best_where}: {best.message[:300]}")
    raise SpecValidationError("\n".join(lines))


def validate_request(method: str, path: str, body: Any) -> None:
    """Validate a JSON request body; ``path`` is a spec template or a concrete path.

    Raises :class:`SpecValidationError` listing every error, or if the operation has no
    ``application/json`` request body in the spec.
    """
    template = _resolve_template(path)
    op = _operation(method, template)
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        raise SpecValidationError(f"{method.upper()} {template} takes no JSON body in the spec")
    pointer = "/".join(
        [
            "/paths",
            _pointer_escape(template),
            method.lower(),
            "requestBody/content/application~1json/schema",
        ]
    )
    _check(pointer, body, f"request body of {method.upper()} {template}")


def validate_response(method: str, path: str, status: int, body: Any) -> None:
    """Validate a JSON response body against the spec's schema for ``status``.

    Statuses without a JSON schema in the spec (204, 4XX) are accepted as long as the
    status (or its ``NXX`` class) is documented for the operation.
    """
    template = _resolve_template(path)
    op = _operation(method, template)
    responses = op.get("responses", {})
    key = str(status) if str(status) in responses else f"{str(status)[0]}XX"
    if key not in responses:
        raise SpecValidationError(f"{method.upper()} {template} documents no {status} response")
    if "application/json" not in responses[key].get("content", {}):
        return
    pointer = "/".join(
        [
            "/paths",
            _pointer_escape(template),
            method.lower(),
            "responses",
            key,
            "content/application~1json/schema",
        ]
    )
    _check(pointer, body, f"{status} response of {method.upper()} {template}")
