"""Inbound SMS against the emulators: readings in the patient's unit (rule 8), shared phones (rule 9), red flags (10).

Each SMS goes in through the two-way topic's handler (``handle_inbound`` with
the JSON AWS publishes) into the container's inbound service, as in Lambda.
Replies are read back from moto's SNS; readings, alerts, tasks and consents
through the API, as the care team sees them.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration.conftest import Api, body, patient_body


def _phone() -> str:
    return "+1555" + str(uuid.uuid4().int)[:7]


def _enrol(api: Api, clinician: tuple[str, str], phone: str, **fields: Any) -> str:
    pid = f"p-sms-{uuid.uuid4().hex[:10]}"
    sent = patient_body(pid, phone=phone, email=None, language="en", timezone="UTC", channels=["sms"], **fields)
    response = api.call("POST", "/patients", sent, as_=clinician)
    assert response.status_code == 201, response.body
    return pid


def _text(phone: str, message: str, inbound_id: str | None = None) -> str:
    from chalicelib import bootstrap
    from chalicelib.jobs.inbound import handle_inbound

    c = bootstrap.container()
    published = {
        "originationNumber": phone,
        "destinationNumber": "+15550000000",
        "messageBody": message,
        "inboundMessageId": inbound_id or f"in-{uuid.uuid4().hex}",
    }
    return handle_inbound(c.inbound, json.dumps(published), datetime.now(UTC))


def _sms_to(phone: str) -> list[str]:
    with urllib.request.urlopen(f"{os.environ['AWS_ENDPOINT_URL']}/moto-api/data.json") as response:
        data = json.loads(response.read())
    return [item["message"] for item in data["sns"].get("SMS", []) if item["phone_number"] == phone]


def _readings(api: Api, pid: str, clinician: tuple[str, str]) -> list[dict[str, Any]]:
    response = api.call("GET", f"/patients/{pid}/readings", as_=clinician)
    assert response.status_code == 200, response.body
    return list(body(response)["items"])


def _alerts(api: Api, pid: str, clinician: tuple[str, str]) -> list[dict[str, Any]]:
    return list(body(api.call("GET", f"/alerts?patient_id={pid}", as_=clinician))["items"])


def _tasks(api: Api, pid: str, clinician: tuple[str, str]) -> list[dict[str, Any]]:
    page = body(api.call("GET", f"/patients/{pid}/timeline?kinds=task_created&limit=100", as_=clinician))
    return list(page["items"])


def _sms_consent(api: Api, pid: str, clinician: tuple[str, str]) -> dict[str, Any]:
    consents = body(api.call("GET", f"/patients/{pid}/consents", as_=clinician))
    return next((c for c in consents if c["channel"] == "sms"), {})


def _inbound_messages(api: Api, pid: str, clinician: tuple[str, str]) -> list[dict[str, Any]]:
    items = body(api.call("GET", f"/patients/{pid}/messages", as_=clinician))["items"]
    return [m for m in items if m["direction"] == "in"]


# -- rule 8: a texted glucose is read in the patient's unit -------------------------------------------


def test_a_unitless_glucose_from_an_mmol_patient_is_stored_as_mmol_and_judged_critical_high(
    api: Api, clinic: dict[str, Any]
) -> None:
    phone = _phone()
    pid = _enrol(api, clinic["c1"], phone, glucose_unit="mmol/L")

    taken_for = _text(phone, "GLU 25")

    (reading,) = _readings(api, pid, clinic["c1"])
    assert taken_for == "reading"
    assert (reading["value"], reading["unit"], reading["value_mg_dl"]) == (25, "mmol/L", 450)
    assert reading["classification"]["severity"] == "critical_high"
    assert reading["source"] == "sms"
    (reply,) = _sms_to(phone)
    assert "read in mmol/L" in reply
    assert "25" not in reply and "450" not in reply


def test_a_unitless_glucose_implausible_in_the_patients_unit_is_read_in_the_other_and_the_reply_says_so(
    api: Api, clinic: dict[str, Any]
) -> None:
    phone = _phone()
    pid = _enrol(api, clinic["c1"], phone)  # mg/dL, the default

    _text(phone, "GLU 6.1")

    (reading,) = _readings(api, pid, clinic["c1"])
    assert (reading["value"], reading["unit"], reading["value_mg_dl"]) == (6.1, "mmol/L", 109.8)
    assert reading["classification"]["severity"] == "normal"
    assert any("read in mmol/L" in sms for sms in _sms_to(phone))


def test_a_patient_may_set_their_own_glucose_unit(api: Api, clinic: dict[str, Any]) -> None:
    phone = _phone()
    pid = _enrol(api, clinic["c1"], phone)

    response = api.call("PATCH", f"/patients/{pid}", {"glucose_unit": "mmol/L"}, as_=("patient", pid))
    _text(phone, "GLU 5.5")

    assert response.status_code == 200
    assert body(response)["glucose_unit"] == "mmol/L"
    assert body(api.call("GET", f"/patients/{pid}", as_=clinic["c1"]))["glucose_unit"] == "mmol/L"
    assert [r["value_mg_dl"] for r in _readings(api, pid, clinic["c1"])] == [99]


def test_a_glucose_above_the_meters_range_is_stored_as_hi_critical_and_the_reply_asks_for_a_recheck(
    api: Api, clinic: dict[str, Any]
) -> None:
    phone = _phone()
    pid = _enrol(api, clinic["c1"], phone)

    _text(phone, "GLU 650")

    (reading,) = _readings(api, pid, clinic["c1"])
    assert (reading["meter_flag"], reading["value"]) == ("HI", None)
    assert reading["classification"]["severity"] == "critical_high"
    (reply,) = _sms_to(phone)
    assert "recheck" in reply and "could not read" not in reply


def test_a_glucose_below_the_meters_range_in_every_unit_is_stored_as_lo(api: Api, clinic: dict[str, Any]) -> None:
    phone = _phone()
    pid = _enrol(api, clinic["c1"], phone)

    _text(phone, "GLU 5 mg")

    (reading,) = _readings(api, pid, clinic["c1"])
    assert (reading["meter_flag"], reading["classification"]["severity"]) == ("LO", "critical_low")
    assert any("recheck" in sms for sms in _sms_to(phone))


def test_a_patient_with_no_unit_set_has_mg_dl(api: Api, clinic: dict[str, Any]) -> None:
    phone = _phone()
    pid = _enrol(api, clinic["c1"], phone)

    patient = body(api.call("GET", f"/patients/{pid}", as_=clinic["c1"]))

    assert patient["glucose_unit"] == "mg/dL"


def test_an_unknown_glucose_unit_is_422_naming_the_field(api: Api, clinic: dict[str, Any]) -> None:
    response = api.call("POST", "/patients", patient_body("p-bad-unit", glucose_unit="mmol"), as_=clinic["c1"])

    assert response.status_code == 422
    assert [e["field"] for e in body(response)["errors"]] == ["glucose_unit"]


# -- rule 9: a phone several patients share is not guessed ------------------------------------


@pytest.fixture
def family(api: Api, clinic: dict[str, Any]) -> dict[str, Any]:
    """Two patients on one phone, each with a care team of their own (c-1's and c-2's)."""
    phone = _phone()
    first = _enrol(api, clinic["c1"], phone)
    second = _enrol(api, clinic["c2"], phone)
    return {"phone": phone, "patients": {first: clinic["c1"], second: clinic["c2"]}}


def test_a_reading_from_a_phone_two_patients_share_is_attributed_to_neither(api: Api, family: dict[str, Any]) -> None:
    inbound_id = f"in-{uuid.uuid4().hex}"

    taken_for = _text(family["phone"], "GLU 45", inbound_id)
    _text(family["phone"], "GLU 45", inbound_id)  # the topic redelivers it

    assert taken_for == "shared:reading"
    for pid, team in family["patients"].items():
        assert _readings(api, pid, team) == []
        assert _alerts(api, pid, team) == []
        (task,) = _tasks(api, pid, team)
        assert "several patients share" in task["summary"]
        assert "45" not in task["summary"]
    replies = _sms_to(family["phone"])
    assert len(replies) == 2  # one per delivery, never one per patient
    assert all("use the app" in r and "Carewire Clinic" in r for r in replies)
    assert all("45" not in r for r in replies)


@pytest.mark.parametrize("message", ["TAKEN", "C", "R", "I ran out of my pills", "BP 142/91"])
def test_a_reply_or_message_from_a_shared_phone_is_attributed_to_neither_and_tasks_each_care_team(
    api: Api, family: dict[str, Any], message: str
) -> None:
    taken_for = _text(family["phone"], message)

    assert taken_for.startswith("shared:")
    for pid, team in family["patients"].items():
        assert len(_tasks(api, pid, team)) == 1
        assert _inbound_messages(api, pid, team) == []  # joins no patient's conversation
        assert _readings(api, pid, team) == []
    (reply,) = _sms_to(family["phone"])
    assert "use the app" in reply


def test_a_red_flag_from_a_shared_phone_opens_a_critical_alert_for_every_patient_sharing_it(
    api: Api, family: dict[str, Any]
) -> None:
    taken_for = _text(family["phone"], "I have chest pain")

    assert taken_for == "shared:red_flag"
    for pid, team in family["patients"].items():
        alerts = _alerts(api, pid, team)
        assert [(a["kind"], a["priority"]) for a in alerts] == [("red_flag_message", "critical")]
    assert any("alerting your care team" in sms for sms in _sms_to(family["phone"]))


def test_stop_from_a_shared_phone_opts_out_every_patient_sharing_it_and_start_opts_them_back_in(
    api: Api, family: dict[str, Any]
) -> None:
    _text(family["phone"], "STOP")
    _text(family["phone"], "stop")
    stopped = {pid: _sms_consent(api, pid, team) for pid, team in family["patients"].items()}
    confirmations = [sms for sms in _sms_to(family["phone"]) if "no more text messages" in sms]
    _text(family["phone"], "GLU 45")  # asked to use the app? not after STOP

    assert all(c["opted_out"] and not c["granted"] for c in stopped.values())
    assert len(confirmations) == 1
    assert len(_sms_to(family["phone"])) == 1

    _text(family["phone"], "START")

    for pid, team in family["patients"].items():
        consent = _sms_consent(api, pid, team)
        assert consent["granted"] and not consent["opted_out"]


# -- rule 10: red flags as people type them ----------------------------------------------------


@pytest.mark.parametrize("message", ["I can\u2019t breathe", "short of breath since morning", "passed out"])
def test_a_red_flag_typed_with_smart_punctuation_or_in_other_words_opens_a_critical_alert(
    api: Api, clinic: dict[str, Any], message: str
) -> None:
    phone = _phone()
    pid = _enrol(api, clinic["c1"], phone)

    taken_for = _text(phone, message)

    assert taken_for == "red_flag"
    assert [(a["kind"], a["priority"]) for a in _alerts(api, pid, clinic["c1"])] == [("red_flag_message", "critical")]
