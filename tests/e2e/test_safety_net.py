"""The safety net (docs/clinical.md "Safety net"), rule by rule, over HTTP through the real stream and queues.

Each test is named after the rule it shows and drives the local stack as
people do: a patient posts readings from the app, the stream and the queues
run (``/_local/drain``), the clock is travelled with ``/_local/tick``, and what
reached a phone or an inbox is read from ``/_local/outbox``.  Quiet hours stay
on (21:00-08:00) for every patient here.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from chalicelib.domain.timeutil import iso, parse_iso
from tests.e2e.conftest import Http

ADMIN = ("admin", "a-1")


def stage_now(http: Http) -> datetime:
    return parse_iso(http.call("POST", "/_local/drain").json()["now"])


def travel(http: Http, at: datetime) -> None:
    response = http.call("POST", "/_local/tick", {"now": iso(at)})
    assert response.status_code == 200, response.text


def outbox(http: Http, to: str) -> list[dict[str, Any]]:
    return http.call("GET", "/_local/outbox", params={"to": to}).json()


def about(messages: list[dict[str, Any]], alert_id: str) -> list[dict[str, Any]]:
    return [m for m in messages if alert_id in (m["body"] or "")]


def phone() -> str:
    return f"+1555{uuid.uuid4().int % 10**7:07d}"


def clinician(http: Http, **fields: Any) -> tuple[str, dict[str, Any]]:
    cid = f"c-sn-{uuid.uuid4().hex[:8]}"
    body = {"given_name": "Kit", "channels": ["sms", "email"], "email": f"{cid}@clinic.example", **fields}
    response = http.call("PUT", f"/clinicians/{cid}", body, as_=ADMIN)
    assert response.status_code == 200, response.text
    return cid, body


def patient(http: Http, care_team: list[str], **fields: Any) -> tuple[str, str]:
    pid, number = f"p-sn-{uuid.uuid4().hex[:8]}", phone()
    body = {
        "patient_id": pid,
        "given_name": "Ana",
        "family_name": "Silva",
        "phone": number,
        "timezone": "America/New_York",
        "channels": ["sms"],
        "quiet_hours": {"start": "21:00", "end": "08:00"},
        "care_team": care_team,
        **fields,
    }
    response = http.call("POST", "/patients", body, as_=ADMIN)
    assert response.status_code == 201, response.text
    return pid, number


def post(http: Http, pid: str, reading: dict[str, Any], measured: datetime) -> dict[str, Any]:
    sent = {"reading_id": str(uuid.uuid4()), "unit": "mmHg", "source": "app", **reading, "measured_at": iso(measured)}
    response = http.call("POST", f"/patients/{pid}/readings", sent, as_=("patient", pid))
    assert response.status_code == 201, response.text
    http.call("POST", "/_local/drain")
    return dict(response.json())


def glucose(value: float) -> dict[str, Any]:
    return {"type": "blood_glucose", "value": value, "unit": "mg/dL", "context": "random"}


def bp(systolic: int, diastolic: int) -> dict[str, Any]:
    return {"type": "blood_pressure", "systolic": systolic, "diastolic": diastolic}


def alerts(http: Http, pid: str, doctor: str) -> list[dict[str, Any]]:
    found = []
    for status in ("open", "acknowledged", "resolved"):
        page = http.call("GET", f"/alerts?patient_id={pid}&status={status}", as_=("clinician", doctor)).json()
        found += page["items"]
    return found


def timeline(http: Http, pid: str, doctor: str, kind: str) -> list[str]:
    page = http.call("GET", f"/patients/{pid}/timeline?kinds={kind}&limit=100", as_=("clinician", doctor)).json()
    return [e["summary"] for e in page["items"]]


# -- rule 1 ----------------------------------------------------------------------------------------


def test_rule_1_a_bp_crisis_never_joins_an_acknowledged_glucose_alert(http: Http) -> None:
    doctor, body = clinician(http, phone=phone())
    pid, _ = patient(http, [doctor])
    now = stage_now(http)
    post(http, pid, glucose(450), now - timedelta(minutes=1))
    (sugar,) = alerts(http, pid, doctor)
    http.call("POST", f"/alerts/{sugar['alert_id']}/acknowledge", {"note": "called"}, as_=("clinician", doctor))
    travel(http, now + timedelta(days=3))

    post(http, pid, bp(220, 130), now + timedelta(days=3))

    found = {a["reading_type"]: a for a in alerts(http, pid, doctor)}
    assert found["blood_glucose"]["occurrences"] == 1
    crisis = found["blood_pressure"]
    assert (crisis["kind"], crisis["priority"], crisis["occurrences"]) == ("critical_high", "critical", 1)
    assert len(about(outbox(http, body["phone"]), crisis["alert_id"])) == 1


# -- rule 2 ----------------------------------------------------------------------------------------


def test_rule_2_an_old_acknowledgment_does_not_silence_a_new_crisis(http: Http) -> None:
    doctor, body = clinician(http, phone=phone())
    pid, _ = patient(http, [doctor])
    now = stage_now(http)
    post(http, pid, glucose(47), now - timedelta(minutes=1))
    (low,) = alerts(http, pid, doctor)
    http.call("POST", f"/alerts/{low['alert_id']}/acknowledge", {}, as_=("clinician", doctor))
    later = now + timedelta(hours=2)
    travel(http, later)

    post(http, pid, glucose(30), later)
    travel(http, later + timedelta(minutes=10))
    post(http, pid, glucose(32), later + timedelta(minutes=10))

    (again,) = [a for a in alerts(http, pid, doctor) if a["kind"] == "critical_low"]  # (and "recurrent lows")
    assert again["alert_id"] == low["alert_id"] and again["occurrences"] == 3
    assert again["status"] == "open"  # the new crisis needs its own acknowledgment
    pages = about(outbox(http, body["phone"]), low["alert_id"])
    assert len(pages) == 2  # the first page and the re-page; not a third within the hour
    assert any("reopened" in s for s in timeline(http, pid, doctor, "alert_escalated"))


# -- rule 3 ----------------------------------------------------------------------------------------


def test_rule_3_every_current_critical_reading_gets_its_safety_message_at_most_every_15_minutes(http: Http) -> None:
    doctor, _ = clinician(http, phone=phone())
    pid, number = patient(http, [doctor])
    now = stage_now(http)

    post(http, pid, glucose(47), now - timedelta(minutes=1))
    post(http, pid, glucose(45), now + timedelta(minutes=3))
    after_two = len(outbox(http, number))
    travel(http, now + timedelta(minutes=20))
    post(http, pid, glucose(44), now + timedelta(minutes=20))

    assert after_two == 1  # folded into the open alert, and within 15 minutes of the last safety message
    assert len(outbox(http, number)) == 2  # 20 minutes on: the patient hears again


# -- rule 4 ----------------------------------------------------------------------------------------


def test_rule_4_a_late_reading_is_history_it_opens_a_routine_alert_and_never_pages(http: Http) -> None:
    doctor, body = clinician(http, phone=phone())
    pid, number = patient(http, [doctor])
    now = stage_now(http)

    stored = post(http, pid, glucose(45), now - timedelta(days=3))

    assert "late" in stored["classification"]["flags"]
    assert "15 g" not in stored["classification"]["guidance"]  # no "act now" advice for last week's reading
    (review,) = alerts(http, pid, doctor)
    assert (review["kind"], review["priority"]) == ("critical_low", "routine")
    assert about(outbox(http, body["phone"]), review["alert_id"]) == []
    assert outbox(http, number) == []


# -- rule 5 ----------------------------------------------------------------------------------------


def test_rule_5_a_page_goes_on_every_real_time_channel_and_email_only_in_addition(http: Http) -> None:
    doctor, body = clinician(http, phone=phone(), channels=["email", "sms"])
    pid, _ = patient(http, [doctor])
    now = stage_now(http)

    post(http, pid, glucose(45), now - timedelta(minutes=1))

    (alert,) = alerts(http, pid, doctor)
    assert len(about(outbox(http, body["phone"]), alert["alert_id"])) == 1  # woken by SMS at 03:00 too
    assert len(about(outbox(http, body["email"]), alert["alert_id"])) == 1


def test_rule_5_a_member_with_no_real_time_channel_is_paged_through_the_on_call_list(http: Http) -> None:
    inbox_only, _ = clinician(http, channels=["email"])
    on_call, on_call_body = clinician(http, phone=phone())
    assert http.call("PUT", "/clinic/on-call", {"clinician_ids": [on_call]}, as_=ADMIN).status_code == 200
    pid, _ = patient(http, [inbox_only])
    now = stage_now(http)

    post(http, pid, glucose(45), now - timedelta(minutes=1))

    (alert,) = alerts(http, pid, inbox_only)
    assert len(about(outbox(http, on_call_body["phone"]), alert["alert_id"])) == 1
    worklist = http.call("GET", "/worklist", as_=("clinician", inbox_only)).json()
    assert "on-call" in worklist["configuration_errors"][0]["problem"]
    assert any(on_call in s for s in timeline(http, pid, inbox_only, "alert_opened"))


# -- rule 6 ----------------------------------------------------------------------------------------


def test_rule_6_escalation_reaches_the_team_contacts_on_call_then_calls_and_marks_unanswered(http: Http) -> None:
    boss, boss_body = clinician(http, phone=phone())
    doctor, body = clinician(http, phone=phone(), escalation_contacts=[boss])
    on_call, on_call_body = clinician(http, phone=phone())
    assert http.call("PUT", "/clinic/on-call", {"clinician_ids": [on_call]}, as_=ADMIN).status_code == 200
    pid, _ = patient(http, [doctor])
    now = stage_now(http)
    post(http, pid, glucose(45), now - timedelta(minutes=1))
    (alert,) = alerts(http, pid, doctor)
    opened = parse_iso(alert["opened_at"])

    def pages(who: dict[str, Any]) -> int:
        return len(about(outbox(http, who["phone"]), alert["alert_id"]))

    travel(http, opened + timedelta(minutes=16))
    at_15 = (pages(body), pages(boss_body), pages(on_call_body))
    travel(http, opened + timedelta(minutes=31))
    at_30 = (pages(body), pages(boss_body), pages(on_call_body))
    travel(http, opened + timedelta(minutes=46))
    at_45 = (pages(body), pages(boss_body), pages(on_call_body))

    assert at_15 == (2, 1, 0)  # the care team again, plus its escalation contact
    assert at_30 == (3, 2, 1)  # ... plus the clinic's on-call list
    assert at_45 == (4, 3, 2)  # the last level calls everyone and leaves it on the worklist
    escalated = http.call("GET", f"/alerts/{alert['alert_id']}", as_=("clinician", doctor)).json()
    assert escalated["escalation_level"] == 3 and escalated["unanswered"] is True
    row = next(
        r for r in http.call("GET", "/worklist", as_=("clinician", doctor)).json()["items"] if r["patient_id"] == pid
    )
    assert row["unanswered_alerts"] == 1
    summaries = timeline(http, pid, doctor, "alert_escalated")
    assert any(f"on-call {on_call}" in s and "level 2" in s for s in summaries)
    assert all("nobody" not in s for s in summaries)


def test_rule_6_a_reopened_alert_climbs_the_ladder_again_and_every_step_pages(http: Http) -> None:
    """After an acknowledgment and a new crisis the ladder starts over; its steps are new pages, not repeats."""
    doctor, body = clinician(http, phone=phone())
    pid, _ = patient(http, [doctor])
    now = stage_now(http)
    post(http, pid, glucose(45), now - timedelta(minutes=1))
    (alert,) = alerts(http, pid, doctor)
    opened = parse_iso(alert["opened_at"])
    travel(http, opened + timedelta(minutes=16))  # first round: level 1 pages the team again
    http.call("POST", f"/alerts/{alert['alert_id']}/acknowledge", {}, as_=("clinician", doctor))
    later = opened + timedelta(hours=3)
    travel(http, later)

    post(http, pid, glucose(38), later)  # re-pages and reopens: the ladder restarts at level 0
    travel(http, later + timedelta(minutes=16))

    # first page, level 1, re-page, level 1 of the second round
    assert len(about(outbox(http, body["phone"]), alert["alert_id"])) == 4
    level_1 = [s for s in timeline(http, pid, doctor, "alert_escalated") if "level 1" in s]
    assert len(level_1) == 2 and all(f"care team {doctor}" in s for s in level_1)


# -- rule 14 ---------------------------------------------------------------------------------------


def test_rule_14_a_clinician_page_carries_no_patient_identifier(http: Http) -> None:
    doctor, body = clinician(http, phone=phone())
    pid, _ = patient(http, [doctor])
    now = stage_now(http)

    post(http, pid, glucose(45), now - timedelta(minutes=1))

    (alert,) = alerts(http, pid, doctor)
    (page,) = about(outbox(http, body["phone"]), alert["alert_id"])
    assert pid not in page["body"] and "Ana" not in page["body"] and "Silva" not in page["body"]
    assert pid not in alert["alert_id"]  # the link is opaque


def test_rule_14_stage_1_readings_are_counted_in_the_daily_digest(http: Http) -> None:
    doctor, body = clinician(http, phone=phone(), timezone="America/New_York")
    pid, _ = patient(http, [doctor])
    now = stage_now(http)

    post(http, pid, bp(134, 78), now - timedelta(minutes=1))
    travel(http, now + timedelta(days=1, hours=1))

    digests = [m for m in outbox(http, body["email"]) if "stage 1" in (m["body"] or "")]
    assert digests and "1 stage 1" in digests[-1]["body"]


# -- rules 7 to 13, end to end ---------------------------------------------------------------------


def sms_in(http: Http, sender: str, body: str) -> None:
    response = http.call("POST", "/_local/inbound-sms", {"from": sender, "body": body})
    assert response.status_code == 200, response.text


def readings(http: Http, pid: str) -> list[dict[str, Any]]:
    return list(http.call("GET", f"/patients/{pid}/readings", as_=("patient", pid)).json()["items"])


def test_rule_7_every_patient_has_a_care_team(http: Http) -> None:
    body = {"given_name": "Ana", "family_name": "Silva", "timezone": "America/New_York", "care_team": []}

    response = http.call("POST", "/patients", body, as_=ADMIN)

    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["care_team"]


def test_rule_8_a_unitless_sms_glucose_is_read_in_the_patients_unit(http: Http) -> None:
    doctor, body = clinician(http, phone=phone())
    pid, number = patient(http, [doctor], glucose_unit="mmol/L", language="zh-CN")

    sms_in(http, number, "GLU 25")

    (stored,) = readings(http, pid)
    assert (stored["value_mg_dl"], stored["classification"]["severity"]) == (450, "critical_high")
    (alert,) = alerts(http, pid, doctor)
    assert len(about(outbox(http, body["phone"]), alert["alert_id"])) == 1  # a hyperglycaemic crisis, not a hypo


def test_rule_9_a_reading_from_a_shared_family_phone_is_attributed_to_nobody(http: Http) -> None:
    doctor, _ = clinician(http, phone=phone())
    first, shared = patient(http, [doctor])
    second = f"p-sn-{uuid.uuid4().hex[:8]}"
    enrol = {"patient_id": second, "given_name": "Rui", "family_name": "Silva", "phone": shared}
    enrol |= {"timezone": "America/New_York", "care_team": [doctor]}
    assert http.call("POST", "/patients", enrol, as_=ADMIN).status_code == 201

    sms_in(http, shared, "GLU 45")

    assert readings(http, first) == [] and readings(http, second) == []
    assert any("app" in m["body"] for m in outbox(http, shared))  # the sender is asked to use the app
    rows = http.call("GET", "/worklist", as_=("clinician", doctor)).json()["items"]
    assert {r["patient_id"]: r["open_tasks"] for r in rows if r["patient_id"] in (first, second)} == {
        first: 1,
        second: 1,
    }


def test_rule_10_a_red_flag_typed_with_the_phones_curly_apostrophe_pages_the_care_team(http: Http) -> None:
    doctor, body = clinician(http, phone=phone())
    pid, number = patient(http, [doctor])

    sms_in(http, number, "I can\u2019t breathe")

    (alert,) = alerts(http, pid, doctor)
    assert (alert["kind"], alert["priority"]) == ("red_flag_message", "critical")
    assert len(about(outbox(http, body["phone"]), alert["alert_id"])) == 1


def test_rule_11_a_safety_message_says_what_to_do_and_whom_to_call_without_values(http: Http) -> None:
    doctor, _ = clinician(http, phone=phone())
    pid, number = patient(http, [doctor])
    now = stage_now(http)

    post(http, pid, glucose(45), now - timedelta(minutes=1))

    (message,) = outbox(http, number)
    assert "15 g" in message["body"] and "emergency" in message["body"]
    assert "call your care team" in message["body"] or "call +" in message["body"]  # the clinic's support contact
    assert "45" not in message["body"]


def test_rule_12_a_late_medication_reminder_is_not_take_it_now(http: Http) -> None:
    doctor, _ = clinician(http, phone=phone())
    pid, number = patient(http, [doctor])
    me = ("patient", pid)
    http.call("PUT", f"/patients/{pid}/consents/sms", {"granted": True, "source": "app"}, as_=me)
    created = http.call("POST", f"/patients/{pid}/reminders", {"kind": "medication", "times": ["23:00"]}, as_=me)
    due = parse_iso(created.json()["next_due_at"])

    travel(http, due)
    deferred = outbox(http, number)
    travel(http, due + timedelta(hours=9))  # 08:00 New York

    assert deferred == []  # 23:00 is inside quiet hours
    (late,) = outbox(http, number)
    assert "scheduled at 23:00" in late["body"] and "double" in late["body"]


def test_rule_13_the_chart_never_hides_a_low(http: Http) -> None:
    doctor, _ = clinician(http, phone=phone())
    pid, _ = patient(http, [doctor])
    now = stage_now(http)
    post(http, pid, glucose(41), now - timedelta(minutes=30))
    post(http, pid, glucose(250), now - timedelta(minutes=1))

    svg = http.call("GET", f"/patients/{pid}/trends/chart.svg?type=blood_glucose&days=7", as_=("clinician", doctor))

    assert svg.status_code == 200
    assert "Below 54" in svg.text and ">41<" in svg.text  # the day's mean (145.5) would have hidden it
