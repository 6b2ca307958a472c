"""The edges of the local server: what it answers before the app runs is problem+json too.

TRACE (which schemathesis sends to every path), CONNECT and unknown methods
used to get http.server's 501 HTML page, an unknown path chalice local's 403
"Missing Authentication Token"; ``devstack/serve.py`` answers them as the
deployed API's gateway responses do.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

from tests.e2e.conftest import Http

PROBLEM = "https://carewire.dev/problems/"


def test_trace_on_health_is_method_not_allowed_naming_the_methods_it_answers(http: Http) -> None:
    response = http.call("TRACE", "/health")

    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Allow"] == "GET"
    assert response.json() == {
        "type": PROBLEM + "method-not-allowed",
        "title": "Method not allowed",
        "status": 405,
        "detail": "This resource answers GET.",
    }


def test_trace_on_patients_is_method_not_allowed_even_with_a_token(http: Http) -> None:
    response = http.call("TRACE", "/patients", as_=("clinician", "c-1"))

    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/problem+json"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert response.json()["type"] == PROBLEM + "method-not-allowed"


def test_an_unknown_method_is_method_not_allowed_and_the_connection_still_serves(http: Http) -> None:
    refused = http.call("FROBNICATE", "/health", data=b'{"x": 1}')
    after = http.call("GET", "/health")

    assert refused.status_code == 405 and refused.json()["status"] == 405
    assert after.status_code == 200


def test_an_unknown_path_is_not_found(http: Http) -> None:
    response = http.call("GET", "/no/such/thing")

    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": PROBLEM + "not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No such resource.",
    }


def test_an_unknown_path_with_a_token_is_not_found_and_does_not_echo_the_token(http: Http) -> None:
    response = http.call("POST", "/no/such/thing", {"a": 1}, as_=("clinician", "c-1"))

    assert response.status_code == 404
    assert response.json()["type"] == PROBLEM + "not-found"
    assert "Bearer" not in response.text and http.token("clinician", "c-1") not in response.text


def test_trace_on_an_unknown_path_is_not_found(http: Http) -> None:
    response = http.call("TRACE", "/no/such/thing")

    assert response.status_code == 404
    assert response.json()["type"] == PROBLEM + "not-found"


def test_a_request_line_with_a_bare_space_is_a_bad_request_that_does_not_echo_it(http: Http) -> None:
    address = urlsplit(http.base)
    with socket.create_connection((address.hostname, address.port), timeout=10) as raw:
        raw.sendall(b"GET /patients?family_name=da Silva HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _read_until_closed(raw)

    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 400")
    assert "Content-Type: application/problem+json" in head
    assert json.loads(body)["status"] == 400 and "Silva" not in body


def _read_until_closed(raw: socket.socket) -> str:
    """The whole answer: head and body may arrive in separate packets."""
    chunks = []
    while chunk := raw.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks).decode()
