"""The foundation journeys over real HTTP against DynamoDB Local and moto server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from devstack.stack import ROOT, free_port
from tests.e2e.conftest import Http


def test_health_answers_with_version(http: Http) -> None:
    response = http.call("GET", "/health")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_openapi_is_served(http: Http) -> None:
    document = http.call("GET", "/openapi.json").json()

    assert document["openapi"].startswith("3.1")
    assert "/patients/{patient_id}" in document["paths"]


def test_local_token_roles_and_scope(http: Http, clinic: dict[str, Any]) -> None:
    mine = http.call("GET", "/patients/p-1", as_=clinic["p1"])
    someone_elses = http.call("GET", "/patients/p-1", as_=("patient", "p-2"))
    not_on_panel = http.call("GET", "/patients/p-1", as_=clinic["c2"])
    enroll_as_patient = http.call("POST", "/patients", {"given_name": "X"}, as_=clinic["p1"])

    assert mine.status_code == 200 and mine.json()["patient_id"] == "p-1"
    assert someone_elses.status_code == 404
    assert not_on_panel.status_code == 404
    assert enroll_as_patient.status_code == 403


def test_tampered_token_is_401_over_http(http: Http, clinic: dict[str, Any]) -> None:
    token = http.token("patient", "p-1")
    head, payload, signature = token.split(".")

    response = http.call(
        "GET", "/patients/p-1", headers={"Authorization": f"Bearer {head}.{payload}.{signature[::-1]}"}
    )

    assert response.status_code == 401
    assert response.headers["Content-Type"] == "application/problem+json"


def test_non_json_body_is_415_and_huge_body_is_413(http: Http, clinic: dict[str, Any]) -> None:
    xml = http.call("POST", "/patients", as_=clinic["c1"], data="<patient/>", headers={"Content-Type": "text/xml"})
    odd = http.call("POST", "/patients", as_=clinic["c1"], data="x", headers={"Content-Type": "image/gif"})
    huge = http.call("POST", "/patients", as_=clinic["c1"], data="{" + " " * (300 * 1024) + "}")

    assert xml.status_code == 415 and xml.headers["Content-Type"] == "application/problem+json"
    assert odd.status_code == 415 and odd.headers["Content-Type"] == "application/problem+json"
    assert huge.status_code == 413


def test_audit_trail_records_reads_over_http(http: Http, clinic: dict[str, Any]) -> None:
    read = http.call("GET", "/patients/p-1", as_=clinic["c1"])

    audit = http.call("GET", "/audit?patient_id=p-1", as_=clinic["admin"]).json()["items"]

    assert any(a["request_id"] == read.headers["X-Request-Id"] for a in audit)


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_make_run_entrypoint_starts_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    ports = {"CAREWIRE_API_PORT": free_port(), "CAREWIRE_DYNAMODB_PORT": free_port(), "CAREWIRE_MOTO_PORT": free_port()}
    env = {**os.environ, **{k: str(v) for k, v in ports.items()}, "CAREWIRE_DATA_DIR": str(tmp_path)}
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        url = f"http://127.0.0.1:{ports['CAREWIRE_API_PORT']}/health"
        while time.monotonic() - started < 60:
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        up_after = time.monotonic() - started
        assert requests.get(url, timeout=2).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode()

    assert up_after < 60
    assert process.returncode == 0, output
    assert "Stopped." in output
    assert all(_port_free(port) for port in ports.values())
    assert (tmp_path / "dynamodb").is_dir()  # data persists between runs
