"""The patient's whole record as FHIR R4 Bundles, a page at a time (``GET /patients/{pid}/export?everything=true``).

Each page validates as an R4 Bundle (``fhir.resources``), the pages together hold every reading, message,
alert, reminder and consent once, and a cursor is the patient's and the page size's only.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.integration.conftest import Api, body, patient_body


def _reading(n: int, value: float = 120) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(hours=n + 1)).isoformat().replace("+00:00", "Z")
    return {
        "reading_id": f"r-{n}",
        "type": "blood_glucose",
        "value": value,
        "unit": "mg/dL",
        "context": "random",
        "measured_at": at,
        "source": "app",
    }


def _pressure(n: int) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(hours=n + 1, minutes=30)).isoformat().replace("+00:00", "Z")
    return {
        "reading_id": f"bp-{n}",
        "type": "blood_pressure",
        "systolic": 128,
        "diastolic": 82,
        "pulse": 70,
        "unit": "mmHg",
        "measured_at": at,
        "source": "app",
    }


def _pages(api: Api, pid: str, as_: tuple[str, str], limit: int) -> list[dict[str, Any]]:
    pages, path = [], f"/patients/{pid}/export?everything=true&limit={limit}"
    while path and len(pages) < 50:
        response = api.call("GET", path, as_=as_)
        assert response.status_code == 200, response.body
        assert response.headers["Content-Type"] == "application/fhir+json"
        document = body(response)
        pages.append(document)
        following = [link["url"] for link in document.get("link", []) if link["relation"] == "next"]
        path = following[0] if following else ""
    return pages


def test_the_whole_record_comes_in_valid_pages_each_resource_once(
    api: Api, clinic: dict[str, Any], stream_runner: Any
) -> None:
    from fhir.resources.R4B.bundle import Bundle

    pid = f"p-ex-{uuid.uuid4().hex[:8]}"
    me, doctor = ("patient", pid), clinic["c1"]
    assert (
        api.call(
            "POST", "/patients", patient_body(pid, care_team=["c-1"], conditions=["diabetes"]), as_=doctor
        ).status_code
        == 201
    )
    for n in range(25):
        assert api.call("POST", f"/patients/{pid}/readings", _reading(n), as_=me).status_code == 201
    for n in range(5):
        assert api.call("POST", f"/patients/{pid}/readings", _pressure(n), as_=me).status_code == 201
    api.call("POST", f"/patients/{pid}/readings", _reading(99, value=45), as_=me)  # a critical low: an alert
    api.call("POST", f"/patients/{pid}/reminders", {"kind": "medication", "times": ["08:00"]}, as_=me)
    for text in ("Hello", "How are you?", "See you Tuesday"):
        assert api.call("POST", f"/patients/{pid}/messages", {"text": text}, as_=doctor).status_code == 202
    (episode,) = body(api.call("GET", f"/patients/{pid}/episodes", as_=doctor))["items"]
    consent = {"at": datetime.now(UTC).isoformat().replace("+00:00", "Z"), "method": "written", "recorded_by": "c-1"}
    assert (
        api.call(
            "PATCH", f"/patients/{pid}/episodes/{episode['episode_id']}", {"rpm_consent": consent}, as_=doctor
        ).status_code
        == 200
    )
    stream_runner.drain()

    pages = _pages(api, pid, me, limit=10)  # the patient's own right of access

    assert len(pages) >= 4
    for page in pages:
        Bundle.model_validate(page)
        assert len(page["entry"]) <= 10 + 1  # a blood-pressure reading is a panel and a heart rate
    resources = [e["resource"] for page in pages for e in page["entry"]]
    kinds = Counter(r["resourceType"] for r in resources)
    assert kinds["Patient"] == 1 and kinds["Consent"] == 1 and kinds["CarePlan"] == 1
    assert kinds["Flag"] >= 1 and kinds["Communication"] == 3
    assert kinds["Observation"] == 26 + 5 * 2
    ids = [e["fullUrl"] for page in pages for e in page["entry"]]
    assert len(ids) == len(set(ids))  # nothing twice across pages
    assert {r["payload"][0]["contentString"] for r in resources if r["resourceType"] == "Communication"} == {
        "Hello",
        "How are you?",
        "See you Tuesday",
    }


def test_a_cursor_is_the_patient_s_and_the_page_size_s_only(api: Api, clinic: dict[str, Any]) -> None:
    pid = f"p-ex-{uuid.uuid4().hex[:8]}"
    other = f"p-ex-{uuid.uuid4().hex[:8]}"
    for p in (pid, other):
        api.call("POST", "/patients", patient_body(p, care_team=["c-1"]), as_=clinic["c1"])
    for n in range(5):
        api.call("POST", f"/patients/{pid}/readings", _reading(n), as_=("patient", pid))
    first = body(api.call("GET", f"/patients/{pid}/export?everything=true&limit=2", as_=clinic["c1"]))
    (following,) = [link["url"] for link in first["link"] if link["relation"] == "next"]
    cursor = parse_qs(urlsplit(following).query)["cursor"][0]

    elsewhere = api.call("GET", f"/patients/{other}/export?everything=true&limit=2&cursor={cursor}", as_=clinic["c1"])
    resized = api.call("GET", f"/patients/{pid}/export?everything=true&limit=3&cursor={cursor}", as_=clinic["c1"])
    bad = api.call("GET", f"/patients/{pid}/export?everything=maybe", as_=clinic["c1"])

    assert elsewhere.status_code == 400 and resized.status_code == 400
    assert bad.status_code == 400 and body(bad)["errors"][0]["field"] == "everything"
    assert api.call("GET", f"/patients/{pid}/export?everything=true", as_=("patient", other)).status_code == 404
