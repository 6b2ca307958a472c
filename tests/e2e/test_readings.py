"""Readings over HTTP against DynamoDB Local: exactly once under concurrency, bounded bodies, audit via the stream."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import requests

from chalicelib.domain.timeutil import parse_iso
from tests.e2e.conftest import Http


def _reading(http: Http, **extra: Any) -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": 48,
        "unit": "mg/dL",
        "context": "before_meal",
        # The stage's clock, which other tests may have travelled forward: not the wall clock.
        "measured_at": (parse_iso(http.call("POST", "/_local/drain").json()["now"]) - timedelta(minutes=2)).isoformat(),
        "source": "app",
        "device_id": "meter-9",
        **extra,
    }


def test_fifty_concurrent_identical_submissions_store_one_reading(http: Http, clinic: dict[str, Any]) -> None:
    token = http.token(*clinic["p1"])
    sent = _reading(http)

    def post(_: int) -> tuple[int, str]:
        response = requests.post(
            f"{http.base}/patients/p-1/readings",
            data=json.dumps(sent),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=60,
        )
        return response.status_code, response.text

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(post, range(50)))

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 49 + [201]
    assert len({text for _, text in answers}) == 1
    stored = http.call("GET", "/patients/p-1/readings?limit=500", as_=clinic["p1"]).json()["items"]
    assert [r["reading_id"] for r in stored].count(sent["reading_id"]) == 1


def test_critical_reading_is_judged_and_guided(http: Http, clinic: dict[str, Any]) -> None:
    response = http.call("POST", "/patients/p-1/readings", _reading(http, value=48), as_=clinic["p1"])

    classification = response.json()["classification"]
    assert response.status_code == 201
    assert (classification["severity"], classification["interpretation"]) == ("critical_low", "LL")
    assert "15 g" in classification["guidance"]


def test_ten_megabyte_body_is_413_and_garbage_is_4xx(http: Http, clinic: dict[str, Any]) -> None:
    huge = http.call(
        "POST",
        "/patients/p-1/readings",
        as_=clinic["p1"],
        data="{" + " " * (10 * 1024 * 1024) + "}",
        headers={"Content-Type": "application/json"},
    )
    garbage = http.call(
        "POST",
        "/patients/p-1/readings",
        as_=clinic["p1"],
        data=b"\xff\xfe\x00",
        headers={"Content-Type": "application/json"},
    )

    assert huge.status_code == 413
    assert 400 <= garbage.status_code < 500
    assert garbage.headers["Content-Type"] == "application/problem+json"


def test_drain_copies_the_writer_into_the_audit_trail(http: Http, clinic: dict[str, Any]) -> None:
    sent = _reading(http, value=150)
    http.call("POST", "/patients/p-1/readings", sent, as_=clinic["p1"])

    drained = http.call("POST", "/_local/drain").json()
    audit: list[dict[str, Any]] = []
    cursor = None
    while True:  # p-1's trail is long by now (the fuzz tests read it hundreds of times, each audited)
        params = {"patient_id": "p-1", "limit": "500", **({"cursor": cursor} if cursor else {})}
        page = http.call("GET", "/audit", as_=clinic["admin"], params=params).json()
        audit += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert "processed" in drained
    entries = [a for a in audit if (a["detail"] or {}).get("reading_id") == sent["reading_id"]]
    assert len(entries) == 1 and entries[0]["actor"] == "p-1"


def test_fhir_export_over_http(http: Http, clinic: dict[str, Any]) -> None:
    response = http.call("GET", "/patients/p-1/export", as_=clinic["c1"])

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/fhir+json"
    assert response.json()["type"] == "collection"
