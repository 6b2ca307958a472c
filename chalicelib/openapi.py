"""``GET /openapi.json``: the API contract, built from what ``@endpoint`` registered.

Every view declares its contract where it is routed (``chalicelib.api.http.endpoint``:
summary, request and response models, query parameters, paging, statuses);
this module turns :data:`chalicelib.api.http.OPERATIONS` into OpenAPI 3.1.
Request schemas are pydantic's validation schemas, response schemas its
serialization schemas with every field the server always sends marked
required (draft 2020-12, which OpenAPI 3.1 uses natively), so the document
cannot drift from what the views validate and answer.  ``openapi.json`` at the
repository root is this document, committed; a test diff-checks the two.
Regenerate it with ``make openapi`` (``python -m chalicelib.openapi > openapi.json``).
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from chalicelib.api.http import MAX_PAGE, OPERATIONS, Operation
from chalicelib.domain.idempotency import KEY_PATTERN
from chalicelib.domain.patients import ID_PATTERN

SCHEMAS = "#/components/schemas/"
PROBLEM = "application/problem+json"

# Response fields a server leaves out rather than sending null: not required in the document.
SOMETIMES_ABSENT: dict[str, set[str] | None] = {
    "Problem": {"errors"},
    "BatchItemResult": {"reading", "error"},
    "AuditEntry": {"patient_id", "detail", "client_id", "source_ip", "user_agent"},
    "TimelineRef": None,  # None: every field
    "FhirResource": None,
}

ERRORS = {
    400: "Malformed request: a query value, a cursor, an Idempotency-Key or a body that is not JSON",
    401: "Missing, invalid or expired token",
    403: "The role may not do this",
    404: "Unknown, or outside the caller's scope",
    409: "Conflict: the resource's state, a concurrent change, or an id or key reused with different content",
    413: "Body over 256 KiB",
    415: "Body is not JSON",
    422: "Invalid content (the problem's errors name each field)",
    503: "Throttled by the store; retry after Retry-After seconds",
}

HEADERS: dict[str, Any] = {
    "X-Request-Id": {
        "description": "This request's id: quote it when reporting a problem",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before retrying",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "WWW-Authenticate": {
        "description": "The Bearer scheme the API expects",
        "required": True,
        "schema": {"type": "string"},
    },
}


class ResponseSchema(GenerateJsonSchema):
    """Serialization schemas mark every field required (the server always sends every field) and stay open."""

    def field_is_required(self, field: Any, total: bool) -> bool:
        if self.mode == "serialization":
            return True
        return super().field_is_required(field, total)

    def model_schema(self, schema: Any) -> Any:
        # Requests may be closed (extra="forbid"); a response never is: a field added later must not
        # break a strict client.
        json_schema = super().model_schema(schema)
        if self.mode == "serialization" and json_schema.get("additionalProperties") is False:
            del json_schema["additionalProperties"]
        return json_schema


def _is_model(kind: Any) -> bool:
    return isinstance(kind, type) and issubclass(kind, BaseModel)


def _inline(kind: Any, mode: JsonSchemaMode) -> dict[str, Any]:
    return TypeAdapter(kind).json_schema(mode=mode)


def _success_schema(op: Operation, refs: dict[tuple[Any, str], str]) -> dict[str, Any]:
    if _is_model(op.response):
        item: dict[str, Any] = {"$ref": refs[(op.response, "serialization")]}
    else:
        item = _inline(op.response, "serialization")
    if op.paged:
        return {
            "type": "object",
            "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": item}, "next_cursor": {"type": ["string", "null"]}},
        }
    if op.listed:
        return {"type": "array", "items": item}
    return item


def _parameters(op: Operation) -> list[dict[str, Any]]:
    path_schemas = dict(op.path_params)
    params: list[dict[str, Any]] = [
        {
            "name": piece.strip("{}"),
            "in": "path",
            "required": True,
            "schema": path_schemas.get(piece.strip("{}"), {"type": "string", "pattern": ID_PATTERN}),
        }
        for piece in op.path.split("/")
        if piece.startswith("{")
    ]
    if op.paged:
        params += [
            {
                "name": "limit",
                "in": "query",
                "description": "Items per page",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 50},
            },
            {
                "name": "cursor",
                "in": "query",
                "description": "next_cursor of the previous page (opaque)",
                "schema": {"type": "string"},
            },
        ]
    for q in op.query:
        param: dict[str, Any] = {"name": q.name, "in": "query", "schema": q.schema}
        if q.description:
            param["description"] = q.description
        if q.required:
            param["required"] = True
        params.append(param)
    if op.keyed:
        params.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Makes a create with a server-chosen id safe to repeat",
                "schema": {"type": "string", "pattern": KEY_PATTERN.pattern},
            }
        )
    return params


def error_statuses(op: Operation) -> list[int]:
    """The error statuses ``op`` can answer, from what it reads and who may call it."""
    if op.public:
        return []
    has_body = op.method in ("POST", "PUT", "PATCH")
    statuses = {401, 403, 503}
    if op.paged or op.query or op.keyed or op.request is not None:
        statuses.add(400)  # a query value, a cursor, an Idempotency-Key, or a body that is not JSON
    if "{" in op.path or op.query:
        statuses.add(404)  # a path id, or an id filter naming a patient outside the caller's scope
    if op.conflicts:
        statuses.add(409)
    if has_body:
        statuses.update((400, 413, 415))
    if op.request is not None or op.invalid:
        statuses.add(422)
    return sorted(statuses)


def _operation(op: Operation, refs: dict[tuple[Any, str], str]) -> dict[str, Any]:
    request_id = {"X-Request-Id": {"$ref": "#/components/headers/X-Request-Id"}}
    success: dict[str, Any] = {
        "description": "Success",
        "headers": request_id,
        "content": {op.media_type: {"schema": _success_schema(op, refs)}},
    }
    responses: dict[str, Any] = {str(op.status): success}
    if op.replay:
        responses["200"] = {**success, "description": "A replay: the same request again, the same answer"}
    for status in error_statuses(op):
        headers = dict(request_id)
        if status == 503:
            headers["Retry-After"] = {"$ref": "#/components/headers/Retry-After"}
        if status == 401:
            headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWW-Authenticate"}
        responses[str(status)] = {
            "description": ERRORS[status],
            "headers": headers,
            "content": {PROBLEM: {"schema": {"$ref": SCHEMAS + "Problem"}}},
        }
    result: dict[str, Any] = {
        "operationId": op.operation_id,
        "tags": [op.tag],
        "summary": op.summary,
        "parameters": _parameters(op),
        "responses": dict(sorted(responses.items())),
    }
    if op.request is not None:
        result["requestBody"] = {
            "required": not op.body_optional,
            "content": {"application/json": {"schema": {"$ref": refs[(op.request, "validation")]}}},
        }
    if not op.public:
        result["security"] = [{"cognito": []}]
    return result


def _schemas(operations: list[Operation]) -> tuple[dict[tuple[Any, str], str], dict[str, Any]]:
    from chalicelib.api.problems import Problem

    wanted: set[tuple[type[BaseModel], JsonSchemaMode]] = {(Problem, "serialization")}
    for op in operations:
        if _is_model(op.request):
            wanted.add((op.request, "validation"))
        if _is_model(op.response):
            wanted.add((op.response, "serialization"))
    ordered = sorted(wanted, key=lambda pair: (pair[0].__name__, pair[1]))
    keys, defs = models_json_schema(ordered, ref_template=SCHEMAS + "{model}", schema_generator=ResponseSchema)
    schemas: dict[str, Any] = defs.get("$defs", {})
    for name, schema in schemas.items():
        base = name.removesuffix("-Output")  # (renamed XOutput below)
        if base in SOMETIMES_ABSENT:
            absent = SOMETIMES_ABSENT[base]
            required = [] if absent is None else [f for f in schema.get("required", []) if f not in absent]
            schema.pop("required", None)
            if required:
                schema["required"] = required
    refs: dict[tuple[Any, str], str] = {(model, mode): ref["$ref"] for (model, mode), ref in keys.items()}
    # A model whose request and response schemas differ is named X-Input / X-Output by pydantic;
    # client generators want names that are identifiers: XInput / XOutput.
    names = {name: name.replace("-Input", "Input").replace("-Output", "Output") for name in schemas}
    schemas = {names[name]: _renamed(schema, names) for name, schema in schemas.items()}
    for name in set(names.values()) - set(names):
        schemas[name]["title"] = name  # generators name classes by title: two "QuietHours" collide
    refs = {key: SCHEMAS + names[ref.removeprefix(SCHEMAS)] for key, ref in refs.items()}
    return refs, dict(sorted(schemas.items()))


def _renamed(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, dict):
        return {
            k: SCHEMAS + names[v.removeprefix(SCHEMAS)] if k == "$ref" else _renamed(v, names) for k, v in node.items()
        }
    if isinstance(node, list):
        return [_renamed(v, names) for v in node]
    return node


@lru_cache(maxsize=4)
def document(version: str) -> dict[str, Any]:
    operations = list(OPERATIONS)  # the local stage's routes are devstack's, not @endpoint's: never here
    refs, schemas = _schemas(operations)
    paths: dict[str, Any] = {}
    for op in sorted(operations, key=lambda o: (o.path, o.method)):
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Carewire API", "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "headers": HEADERS,
            "securitySchemes": {"cognito": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def main() -> None:
    """Print the document (``python -m chalicelib.openapi > openapi.json``)."""
    import importlib
    import pkgutil

    from chalicelib import api
    from chalicelib.settings import Settings

    for module in pkgutil.iter_modules(api.__path__):  # importing a view module registers its routes
        importlib.import_module(f"{api.__name__}.{module.name}")

    version = str(Settings.model_fields["version"].default)
    sys.stdout.write(json.dumps(document(version), indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
