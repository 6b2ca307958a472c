"""Service routes, the OpenAPI document, error shapes and log hygiene."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.integration.conftest import Api, body, patient_body


def test_openapi_document_validates_and_lists_every_route(api: Api, app: Any) -> None:
    from openapi_spec_validator import validate

    document = body(api.call("GET", "/openapi.json"))

    validate(document)
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    served = {
        (path, method.lower())
        for path, methods in app.routes.items()
        for method in methods
        if not path.startswith(("/_local", "/console"))  # the console's HTML pages are not the JSON API
    }
    assert served <= documented, served - documented


def test_the_served_openapi_document_is_the_committed_openapi_json(api: Api) -> None:
    import json
    from pathlib import Path

    committed = json.loads((Path(__file__).resolve().parents[2] / "openapi.json").read_text())

    document = body(api.call("GET", "/openapi.json"))

    assert {**document, "info": None} == {**committed, "info": None}  # the version is the deployment's


def test_wrong_method_is_a_405_problem(api: Api) -> None:
    response = api.call("DELETE", "/health")

    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/problem+json"


@pytest.mark.parametrize(
    "raw",
    ["{", "[1, 2]", "null", '"text"', "", '{"given_name": NaN}', "[" * 5000 + "]" * 5000],
)
def test_malformed_bodies_are_4xx_problems(api: Api, clinic: dict[str, Any], raw: str) -> None:
    response = api.call("POST", "/patients", raw=raw, as_=clinic["c1"])

    assert 400 <= response.status_code < 500
    assert response.headers["Content-Type"] == "application/problem+json"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_no_phi_reaches_the_logs(api: Api, clinic: dict[str, Any]) -> None:
    from chalicelib.observability import logger

    powertools = logger()
    collect = _Collect()
    collect.setFormatter(powertools.registered_formatter)  # the exact JSON Lambda would print
    powertools.addHandler(collect)
    phi = {"given_name": "Zebedee", "family_name": "Quixotic", "phone": "+15557654321", "email": "zq@example.org"}
    try:
        api.call("POST", "/patients", patient_body("p-phi", **phi), as_=clinic["c1"])
        api.call("POST", "/patients", patient_body("p-phi2", **{**phi, "timezone": "Nowhere/Land"}), as_=clinic["c1"])
        api.call("GET", "/patients/p-phi", as_=clinic["c1"])
    finally:
        powertools.removeHandler(collect)

    text = "\n".join(collect.lines)
    assert text.count('"message":"request"') == 3
    for value in phi.values():
        assert value not in text
