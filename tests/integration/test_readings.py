"""Readings end to end in-process: exactly once, judged, paged, exported, audited."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from tests.integration.conftest import Api, body, patient_body
from tests.integration.console_client import Console, text


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


def glucose(value: float | None = 112, **extra: Any) -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": value,
        "unit": "mg/dL",
        "context": "fasting",
        "measured_at": ago(minutes=1),
        "source": "app",
        "device_id": "meter-9",
        **extra,
    }


def pressure(systolic: float = 142, diastolic: float = 91, **extra: Any) -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_pressure",
        "systolic": systolic,
        "diastolic": diastolic,
        "pulse": 77,
        "unit": "mmHg",
        "measured_at": ago(minutes=1),
        "source": "device",
        "device_id": "cuff-2",
        "symptoms": [],
        **extra,
    }


@pytest.fixture(scope="module")
def patient(api: Api, clinic: dict[str, Any]) -> tuple[str, str]:
    pid = f"p-r-{uuid.uuid4().hex[:8]}"
    assert api.call("POST", "/patients", patient_body(pid, language="pt-BR"), as_=clinic["c1"]).status_code == 201
    return ("patient", pid)


def history(api: Api, patient: tuple[str, str], query: str = "") -> dict[str, Any]:
    response = api.call("GET", f"/patients/{patient[1]}/readings{query}", as_=patient)
    assert response.status_code == 200, response.body
    return body(response)


def test_a_reading_is_stored_judged_and_answered_in_the_patients_language(api: Api, patient: tuple[str, str]) -> None:
    sent = pressure()

    response = api.call("POST", f"/patients/{patient[1]}/readings", sent, as_=patient)

    assert response.status_code == 201
    reading = body(response)
    assert reading["reading_id"] == sent["reading_id"]
    assert reading["classification"]["severity"] == "high"
    assert reading["classification"]["category"] == "stage_2"
    assert reading["classification"]["interpretation"] == "H"
    assert "pressão" in reading["classification"]["guidance"]
    assert reading["received_at"].endswith("Z") and reading["measured_at"].endswith("Z")
    assert "alert_id" in reading


def test_mmol_keeps_the_original_and_adds_mg_dl(api: Api, patient: tuple[str, str]) -> None:
    response = api.call(
        "POST", f"/patients/{patient[1]}/readings", glucose(6.1, unit="mmol/L", context="random"), as_=patient
    )

    reading = body(response)
    assert (reading["value"], reading["unit"], reading["value_mg_dl"]) == (6.1, "mmol/L", 109.8)


def test_a_replay_is_200_with_the_identical_body(api: Api, patient: tuple[str, str]) -> None:
    sent = glucose(47)

    first = api.call("POST", f"/patients/{patient[1]}/readings", sent, as_=patient)
    again = api.call("POST", f"/patients/{patient[1]}/readings", sent, as_=patient)

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.body == again.body


def test_a_replay_with_the_offset_written_differently_is_still_a_replay(api: Api, patient: tuple[str, str]) -> None:
    moment = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0)
    brt = timezone(timedelta(hours=-3))
    sent = glucose(100, measured_at=moment.astimezone(brt).isoformat())
    same_instant = {**sent, "measured_at": moment.strftime("%Y-%m-%dT%H:%M:%SZ")}

    first = api.call("POST", f"/patients/{patient[1]}/readings", sent, as_=patient)
    again = api.call("POST", f"/patients/{patient[1]}/readings", same_instant, as_=patient)

    assert (first.status_code, again.status_code) == (201, 200)


def test_same_id_with_different_content_is_409_and_keeps_the_first(api: Api, patient: tuple[str, str]) -> None:
    sent = glucose(120)
    api.call("POST", f"/patients/{patient[1]}/readings", sent, as_=patient)

    clash = api.call("POST", f"/patients/{patient[1]}/readings", {**sent, "value": 121}, as_=patient)

    assert clash.status_code == 409
    stored = [r for r in history(api, patient, "?limit=500")["items"] if r["reading_id"] == sent["reading_id"]]
    assert [r["value"] for r in stored] == [120]


def test_without_reading_id_the_server_makes_one(api: Api, patient: tuple[str, str]) -> None:
    sent = glucose(99)
    del sent["reading_id"]

    response = api.call("POST", f"/patients/{patient[1]}/readings", sent, as_=patient)

    assert response.status_code == 201
    assert body(response)["reading_id"].startswith("r-")


# Payloads are built inside the test (they read the clock: "future time" must be future when it is sent).
BAD: list[tuple[str, Callable[[], Any], int, str]] = [
    ("missing type", lambda: {k: v for k, v in glucose().items() if k != "type"}, 422, "type"),
    ("string number", lambda: glucose("112"), 422, "value"),
    ("infinity", lambda: None, 422, "value"),
    ("nan", lambda: None, 422, "value"),
    ("systolic below diastolic", lambda: pressure(90, 95), 422, "diastolic"),
    ("unknown unit", lambda: glucose(unit="mg"), 422, "unit"),
    ("unknown context", lambda: glucose(context="lunch"), 422, "context"),
    ("naive time", lambda: glucose(measured_at="2026-11-22T07:41:00"), 422, "measured_at"),
    (
        "future time",
        lambda: glucose(measured_at=(datetime.now(UTC) + timedelta(minutes=10)).isoformat()),
        422,
        "measured_at",
    ),
    ("implausible", lambda: pressure(310, 90), 422, "systolic"),
    ("array body", lambda: [1], 422, "body"),
]


@pytest.mark.parametrize(("name", "make_payload", "status", "field"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_a_problem_naming_the_field_and_stores_nothing(
    api: Api, patient: tuple[str, str], name: str, make_payload: Callable[[], Any], status: int, field: str
) -> None:
    payload = make_payload()
    before = len(history(api, patient, "?limit=500")["items"])
    raw = (
        json.dumps(payload)
        if payload is not None
        else json.dumps(glucose()).replace("112", "Infinity" if name == "infinity" else "NaN")
    )

    response = api.call("POST", f"/patients/{patient[1]}/readings", raw=raw, as_=patient)

    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/problem+json"
    assert field in {e["field"] for e in body(response)["errors"]}
    assert len(history(api, patient, "?limit=500")["items"]) == before


def test_non_json_is_415(api: Api, patient: tuple[str, str]) -> None:
    response = api.call(
        "POST",
        f"/patients/{patient[1]}/readings",
        raw="value=112",
        as_=patient,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 415


def test_patient_cannot_post_for_someone_else(api: Api, patient: tuple[str, str], clinic: dict[str, Any]) -> None:
    response = api.call("POST", "/patients/p-1/readings", glucose(), as_=patient)

    assert response.status_code == 404


def test_care_team_enters_clinic_readings_but_other_clinicians_cannot(
    api: Api, patient: tuple[str, str], clinic: dict[str, Any]
) -> None:
    ours = api.call("POST", f"/patients/{patient[1]}/readings", glucose(source="clinic"), as_=clinic["c1"])
    theirs = api.call("POST", f"/patients/{patient[1]}/readings", glucose(source="clinic"), as_=clinic["c2"])

    assert ours.status_code == 201
    assert theirs.status_code == 404


def test_personal_targets_judge_the_next_reading(api: Api, clinic: dict[str, Any]) -> None:
    pid = f"p-t-{uuid.uuid4().hex[:6]}"
    api.call("POST", "/patients", patient_body(pid), as_=clinic["c1"])
    api.call("PUT", f"/patients/{pid}/targets", {"glucose": {"high_fasting": 110}}, as_=clinic["c1"])

    response = api.call("POST", f"/patients/{pid}/readings", glucose(115), as_=("patient", pid))

    assert body(response)["classification"]["severity"] == "high"


def test_two_readings_of_300_within_six_hours_make_the_second_critical(api: Api, clinic: dict[str, Any]) -> None:
    pid = f"p-v-{uuid.uuid4().hex[:6]}"
    api.call("POST", "/patients", patient_body(pid), as_=clinic["c1"])
    me = ("patient", pid)

    first = api.call("POST", f"/patients/{pid}/readings", glucose(310, measured_at=ago(hours=5)), as_=me)
    second = api.call("POST", f"/patients/{pid}/readings", glucose(305, measured_at=ago(minutes=1)), as_=me)
    far_apart = api.call("POST", f"/patients/{pid}/readings", glucose(320, measured_at=ago(hours=20)), as_=me)

    assert body(first)["classification"]["severity"] == "high"
    assert body(second)["classification"]["severity"] == "critical_high"
    assert "repeated_very_high" in body(second)["classification"]["flags"]
    assert body(far_apart)["classification"]["severity"] == "high"


def test_batch_items_are_independent(api: Api, patient: tuple[str, str]) -> None:
    good = glucose(140)
    replayed = glucose(141)
    api.call("POST", f"/patients/{patient[1]}/readings", replayed, as_=patient)
    clash = glucose(150)
    api.call("POST", f"/patients/{patient[1]}/readings", clash, as_=patient)
    items = [good, pressure(90, 95), replayed, {**clash, "value": 151}, good, {**good, "value": 200}]

    response = api.call("POST", f"/patients/{patient[1]}/readings/batch", {"readings": items}, as_=patient)

    assert response.status_code == 200
    results = body(response)["results"]
    assert [r["status"] for r in results] == [201, 422, 200, 409, 200, 409]
    assert results[1]["error"]["errors"][0]["field"] == "readings[1].diastolic"
    assert results[4]["reading"] == results[0]["reading"]


def test_batch_sees_very_high_readings_within_itself(api: Api, clinic: dict[str, Any]) -> None:
    pid = f"p-b-{uuid.uuid4().hex[:6]}"
    api.call("POST", "/patients", patient_body(pid), as_=clinic["c1"])

    response = api.call(
        "POST",
        f"/patients/{pid}/readings/batch",
        {"readings": [glucose(330, measured_at=ago(hours=3)), glucose(340, measured_at=ago(hours=1))]},
        as_=("patient", pid),
    )

    severities = [r["reading"]["classification"]["severity"] for r in body(response)["results"]]
    assert severities == ["high", "critical_high"]


def test_batch_over_100_is_refused(api: Api, patient: tuple[str, str]) -> None:
    response = api.call("POST", f"/patients/{patient[1]}/readings/batch", {"readings": [glucose()] * 101}, as_=patient)

    assert response.status_code == 422
    assert body(response)["errors"][0]["field"] == "readings"


def test_history_is_newest_first_across_types_and_pages_with_cursors(api: Api, clinic: dict[str, Any]) -> None:
    pid = f"p-h-{uuid.uuid4().hex[:6]}"
    api.call("POST", "/patients", patient_body(pid), as_=clinic["c1"])
    me = ("patient", pid)
    sent = []
    for minutes in range(10, 0, -1):
        reading = (
            glucose(100 + minutes, measured_at=ago(minutes=minutes))
            if minutes % 2
            else pressure(120 + minutes, 80, measured_at=ago(minutes=minutes))
        )
        sent.append(reading["reading_id"])
        api.call("POST", f"/patients/{pid}/readings", reading, as_=me)

    seen: list[str] = []
    cursor = ""
    for _ in range(10):
        page = history(api, me, f"?limit=3{cursor}")
        seen += [r["reading_id"] for r in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"

    assert seen == list(reversed(sent))
    only_bp = history(api, me, "?type=blood_pressure&limit=500")["items"]
    assert {r["type"] for r in only_bp} == {"blood_pressure"} and len(only_bp) == 5


def test_history_filters_by_time(api: Api, clinic: dict[str, Any]) -> None:
    pid = f"p-f-{uuid.uuid4().hex[:6]}"
    api.call("POST", "/patients", patient_body(pid), as_=clinic["c1"])
    me = ("patient", pid)
    for hours in (30, 20, 10):
        api.call("POST", f"/patients/{pid}/readings", glucose(100 + hours, measured_at=ago(hours=hours)), as_=me)
    start = (datetime.now(UTC) - timedelta(hours=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (datetime.now(UTC) - timedelta(hours=15)).strftime("%Y-%m-%dT%H:%M:%SZ")

    items = history(api, me, f"?from={start}&to={end}")["items"]

    assert [r["value"] for r in items] == [120]


def test_history_cursor_cannot_read_another_patient(api: Api, clinic: dict[str, Any]) -> None:
    pid = f"p-c-{uuid.uuid4().hex[:6]}"
    api.call("POST", "/patients", patient_body(pid), as_=clinic["c1"])
    for _ in range(2):
        api.call("POST", f"/patients/{pid}/readings", glucose(), as_=("patient", pid))
    cursor = body(api.call("GET", f"/patients/{pid}/readings?limit=1", as_=clinic["c1"]))["next_cursor"]

    response = api.call("GET", f"/patients/p-1/readings?limit=1&cursor={cursor}", as_=clinic["c1"])

    assert response.status_code == 400


@pytest.mark.parametrize("query", ["?type=weight", "?from=yesterday", "?to=2026-11-22T10:00:00"])
def test_bad_history_queries_are_400(api: Api, patient: tuple[str, str], query: str) -> None:
    assert api.call("GET", f"/patients/{patient[1]}/readings{query}", as_=patient).status_code == 400


def test_fhir_export_validates_as_r4(api: Api, clinic: dict[str, Any]) -> None:
    from fhir.resources.R4B.bundle import Bundle

    pid = f"p_x-{uuid.uuid4().hex[:6]}"  # an underscore, which FHIR ids may not carry
    api.call("POST", "/patients", patient_body(pid, birth_date="1958-02-28", mrn="MRN-77"), as_=clinic["c1"])
    me = ("patient", pid)
    api.call("POST", f"/patients/{pid}/readings", glucose(6.1, unit="mmol/L"), as_=me)
    api.call("POST", f"/patients/{pid}/readings", glucose(None, meter_flag="LO"), as_=me)
    api.call("POST", f"/patients/{pid}/readings", pressure(185, 100), as_=me)

    response = api.call("GET", f"/patients/{pid}/export", as_=clinic["c1"])

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/fhir+json"
    document = body(response)
    Bundle.model_validate(document)
    resources = [e["resource"] for e in document["entry"]]
    codes = {r["code"]["coding"][0]["code"] for r in resources if r["resourceType"] == "Observation"}
    assert codes == {"14743-9", "41653-7", "85354-9", "8867-4"}
    panel = next(r for r in resources if r.get("code", {}).get("coding", [{}])[0].get("code") == "85354-9")
    assert panel["interpretation"][0]["coding"][0]["code"] == "HH"
    assert {c["code"]["coding"][0]["code"] for c in panel["component"]} == {"8480-6", "8462-4"}
    assert panel["category"][0]["coding"][0]["code"] == "vital-signs"
    person = next(r for r in resources if r["resourceType"] == "Patient")
    assert person["birthDate"] == "1958-02-28"
    assert {"system": "urn:carewire:mrn", "value": "MRN-77"}.items() <= person["identifier"][1].items()


def test_export_is_scoped(api: Api, clinic: dict[str, Any]) -> None:
    assert api.call("GET", "/patients/p-1/export", as_=("patient", "p-stranger")).status_code == 404


def test_stream_copies_the_writer_into_the_audit_trail_once(
    api: Api, app: Any, patient: tuple[str, str], clinic: dict[str, Any], stream_runner: Any
) -> None:
    from chalicelib import bootstrap
    from devstack.runner import LocalEventRunner

    c = bootstrap.container()
    runner = stream_runner
    sent = glucose(130)
    api.call("POST", f"/patients/{patient[1]}/readings", sent, as_=patient)

    runner.drain()
    replayer = LocalEventRunner(
        app, c.client("dynamodb"), c.client("dynamodbstreams"), c.client("sqs"), c.settings.table_name
    )
    replayer.drain()  # a second consumer from the start of the stream: every record delivered again

    audit = body(api.call("GET", f"/audit?patient_id={patient[1]}&limit=500", as_=clinic["admin"]))["items"]
    created = [a for a in audit if (a["detail"] or {}).get("reading_id") == sent["reading_id"]]
    assert len(created) == 1
    assert (created[0]["actor"], created[0]["role"], created[0]["action"]) == (patient[1], "patient", "create")


def test_a_record_too_large_for_one_export_is_a_400_naming_everything_and_its_pages_still_come(
    api: Api, clinic: dict[str, Any]
) -> None:
    """A cuff syncing a year of six-a-day history: more than one Lambda answer (6 MB) can carry."""
    pid = f"p-big-{uuid.uuid4().hex[:6]}"
    api.call("POST", "/patients", patient_body(pid), as_=clinic["c1"])
    me = ("patient", pid)
    for batch in range(22):
        readings = [pressure(128, 82, measured_at=ago(hours=3.9 * (100 * batch + n) + 1)) for n in range(100)]
        response = api.call("POST", f"/patients/{pid}/readings/batch", {"readings": readings}, as_=me)
        assert {r["status"] for r in body(response)["results"]} == {201}

    refused = api.call("GET", f"/patients/{pid}/export", as_=clinic["c1"])

    assert refused.status_code == 400
    assert refused.headers["Content-Type"] == "application/problem+json"
    problem = body(refused)
    assert problem["type"].endswith("/record-too-large")
    assert [e["field"] for e in problem["errors"]] == ["everything"]
    first = api.call("GET", f"/patients/{pid}/export?everything=true&limit=500", as_=clinic["c1"])
    assert first.status_code == 200
    assert any(link["relation"] == "next" for link in body(first)["link"])
    download = Console(api.client, api.issuer, "clinician", "c-1").get(f"/console/patients/{pid}/export.json")
    assert download.status_code == 400 and "too large for one file" in text(download)
