"""The contract is declared once, at ``@endpoint``; the committed openapi.json is what it generates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = ROOT / "openapi.json"
REGENERATE = "regenerate it with `make openapi` (.venv/bin/python -m chalicelib.openapi > openapi.json)"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    import app  # noqa: F401 - registers every route
    from chalicelib.openapi import document
    from chalicelib.settings import Settings

    return document(str(Settings.model_fields["version"].default))


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in document["paths"].items() for method, op in ops.items()]


def test_the_committed_openapi_json_is_the_generated_document(document: dict[str, Any]) -> None:
    committed = json.loads(COMMITTED.read_text())

    generated = json.loads(json.dumps(document))  # tuples and the like as JSON has them

    changed = sorted(
        f"{path} {method}"
        for path in set(committed["paths"]) | set(generated["paths"])
        for method in set(committed["paths"].get(path, {})) | set(generated["paths"].get(path, {}))
        if committed["paths"].get(path, {}).get(method) != generated["paths"].get(path, {}).get(method)
    )
    assert changed == [], f"openapi.json is stale for {changed}: {REGENERATE}"
    assert committed == generated, f"openapi.json is stale (components or info): {REGENERATE}"


def test_every_served_route_is_documented_once_with_an_operation_id_and_a_tag(document: dict[str, Any]) -> None:
    from app import app

    # The console's HTML pages are not the JSON API: docs/console.md lists them (tests/unit/test_docs.py).
    served = {
        (path, method.lower())
        for path, methods in app.routes.items()
        for method in methods
        if "/_local" not in path and not path.startswith("/console")
    }

    documented = {(path, method) for path, method, _ in _operations(document)}
    ids = [op["operationId"] for _, _, op in _operations(document)]
    assert served == documented
    assert len(ids) == len(set(ids))
    assert all(len(op["tags"]) == 1 and op["summary"] for _, _, op in _operations(document))


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    validate(document)


def test_every_operation_answers_a_success_with_a_schema(document: dict[str, Any]) -> None:
    missing = [
        f"{method} {path}"
        for path, method, op in _operations(document)
        if not any(
            status.startswith("2") and all("schema" in c for c in r.get("content", {"": {}}).values())
            for status, r in op["responses"].items()
        )
    ]

    assert missing == []


def test_bodiless_operations_do_not_list_413_or_415(document: dict[str, Any]) -> None:
    listed = [
        f"{method} {path}"
        for path, method, op in _operations(document)
        if method in ("get", "delete") and {"413", "415"} & set(op["responses"])
    ]

    assert listed == []


def _reachable(document: dict[str, Any], roots: list[Any]) -> set[str]:
    names: set[str] = set()
    todo = list(roots)
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[-1] not in names:
                names.add(ref.rsplit("/", 1)[-1])
                todo.append(document["components"]["schemas"][ref.rsplit("/", 1)[-1]])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return names


def test_response_schemas_never_forbid_additional_properties(document: dict[str, Any]) -> None:
    # A strict client would break on the day a field is added (requests may stay strict: extra="forbid").
    responses = [op["responses"] for _, _, op in _operations(document)]

    closed = [
        name
        for name in sorted(_reachable(document, responses))
        if document["components"]["schemas"][name].get("additionalProperties") is False
    ]

    assert closed == []


def test_every_query_and_path_parameter_says_what_it_accepts(document: dict[str, Any]) -> None:
    bare = [
        f"{method} {path} {p['name']}"
        for path, method, op in _operations(document)
        for p in op["parameters"]
        if p["in"] in ("path", "query")
        and p["name"] != "cursor"  # opaque by design
        and set(p["schema"]) <= {"type"}
    ]

    assert bare == []


def test_the_adherence_windows_documented_are_the_services(document: dict[str, Any]) -> None:
    from chalicelib.api.reminders import ADHERENCE_DAYS as documented
    from chalicelib.services.reminders import ADHERENCE_DAYS as served

    assert documented == served


def test_errors_and_throttling_declare_their_headers(document: dict[str, Any]) -> None:
    for _, _, op in _operations(document):
        for status, response in op["responses"].items():
            assert "X-Request-Id" in response["headers"]
            if status == "503":
                assert "Retry-After" in response["headers"]
