"""Request validation of the CRM double's public API, driven by the OpenAPI document it serves
(`openapi_spec`): what the double accepts is what it documents, as the real routes validate with
the zod schemas their spec is derived from. A query parameter or body the document refuses is a
422 `VALIDATION_ERROR`, before any handler runs; handlers keep the rules a schema cannot say
(which boards, stages and contacts exist)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import jsonschema_rs

from golive.sandbox.crm.openapi_spec import API_PREFIX, openapi_document

_INTEGER = re.compile(r"[+-]?[0-9]{1,12}")


@dataclass(frozen=True)
class Operation:
    body: Any | None  # a jsonschema_rs validator, or None when the operation takes no body
    body_required: bool
    query: dict[str, Any] = field(default_factory=dict)  # name -> (schema, validator)


def _operations() -> dict[tuple[str, str], Operation]:
    spec = openapi_document()
    found: dict[tuple[str, str], Operation] = {}
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            body = op.get("requestBody")
            validator = None
            if body is not None:
                schema = body["content"]["application/json"]["schema"]
                validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
            query = {
                p["name"]: (
                    p["schema"],
                    jsonschema_rs.Draft202012Validator(p["schema"], validate_formats=True),
                )
                for p in op.get("parameters", [])
                if p["in"] == "query"
            }
            found[(method.upper(), API_PREFIX + path)] = Operation(
                validator, bool(body and body.get("required")), query
            )
    return found


OPERATIONS = _operations()


def query_problem(route: str, method: str, params: dict[str, str]) -> str | None:
    """Why the query string is refused, or None. Unknown parameters are ignored."""
    operation = OPERATIONS.get((method, route))
    if operation is None:
        return None
    for name, (schema, validator) in operation.query.items():
        if name not in params:
            continue
        raw = params[name]
        value: Any = raw
        if schema.get("type") == "integer":
            if not _INTEGER.fullmatch(raw):
                return f"{name} must be an integer"
            value = int(raw)
        if not validator.is_valid(value):
            return f"{name} is not valid ({_first_error(validator, value)})"
    return None


def body_problem(route: str, method: str, body: Any, sent: bool) -> str | None:
    """Why the body is refused, or None; `sent` tells an empty body from `{}`."""
    operation = OPERATIONS.get((method, route))
    if operation is None or operation.body is None:
        return None
    if not sent:
        return "a body is required" if operation.body_required else None
    if not operation.body.is_valid(body):
        return _first_error(operation.body, body)
    return None


def _first_error(validator: Any, value: Any) -> str:
    for error in validator.iter_errors(value):
        where = "/".join(str(p) for p in error.instance_path) or "body"
        return f"{where}: {error.message}"[:300]
    return "invalid"
