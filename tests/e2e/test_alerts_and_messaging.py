"""Alerts and omnichannel messaging over HTTP, through the real stream and queue (DynamoDB Local + moto)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.timeutil import iso, parse_iso
from tests.e2e.conftest import Http


def server_now(http: Http) -> datetime:
    return parse_iso(http.call("POST", "/_local/drain").json()["now"])


def tick(http: Http, at: datetime) -> None:
    response = http.call("POST", "/_local/tick", {"now": iso(at)})
    assert response.status_code == 200, response.text


def outbox(http: Http, to: str) -> list[dict[str, Any]]:
    return http.call("GET", "/_local/outbox", params={"to": to}).json()


def glucose(http: Http, value: float, **extra: Any) -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": value,
        "unit": "mg/dL",
        "context": "random",
        "measured_at": iso(server_now(http) - timedelta(minutes=1)),
        "source": "app",
        **extra,
    }


@pytest.fixture(scope="module")
def team(http: Http) -> dict[str, Any]:
    """Two care-team clinicians (one by SMS, one by email) and their escalation contact."""
    tag = uuid.uuid4().hex[:6]
    admin = ("admin", "a-1")
    doc_sms, doc_mail, boss = f"c-s-{tag}", f"c-m-{tag}", f"c-b-{tag}"
    phones = {doc_sms: "+1555300" + tag[:4].translate(str.maketrans("abcdef", "123456")), boss: "+15553999999"}
    http.call(
        "PUT", f"/clinicians/{boss}", {"given_name": "Boss", "phone": phones[boss], "channels": ["sms"]}, as_=admin
    )
    http.call(
        "PUT",
        f"/clinicians/{doc_sms}",
        {"given_name": "Sam", "phone": phones[doc_sms], "channels": ["sms", "email"], "escalation_contacts": [boss]},
        as_=admin,
    )
    http.call(
        "PUT",
        f"/clinicians/{doc_mail}",
        {"given_name": "Mia", "email": f"{doc_mail}@clinic.example", "channels": ["email"]},
        as_=admin,
    )
    return {"sms": doc_sms, "mail": doc_mail, "boss": boss, "phones": phones, "tag": tag}


def enroll(http: Http, team: dict[str, Any], phone: str, **extra: Any) -> str:
    pid = f"p-{uuid.uuid4().hex[:8]}"
    body = {
        "patient_id": pid,
        "given_name": "Ana",
        "family_name": "Silva",
        "phone": phone,
        "email": f"{pid}@example.org",
        "timezone": "America/New_York",
        "language": "en",
        "channels": ["push", "sms", "email"],
        "care_team": [team["mail"]],
        # No quiet hours (start == end) unless a test asks: these tests run at any hour of the day.
        "quiet_hours": {"start": "00:00", "end": "00:00"},
        **extra,
    }
    response = http.call("POST", "/patients", body, as_=("clinician", team["sms"]))
    assert response.status_code == 201, response.text
    for channel in ("sms", "email"):
        http.call("PUT", f"/patients/{pid}/consents/{channel}", {"granted": True}, as_=("patient", pid))
    return pid


def test_a_critical_low_pages_the_care_team_once_and_escalates_until_acknowledged(
    http: Http, team: dict[str, Any]
) -> None:
    phone = "+15554440001"
    pid = enroll(http, team, phone)
    me = ("patient", pid)
    doc = ("clinician", team["sms"])

    http.call("POST", f"/patients/{pid}/readings", glucose(http, 48), as_=me)
    http.call("POST", "/_local/drain")

    alerts = http.call("GET", f"/alerts?patient_id={pid}", as_=doc).json()["items"]
    assert [(a["kind"], a["priority"], a["occurrences"]) for a in alerts] == [("critical_low", "critical", 1)]
    alert_id = alerts[0]["alert_id"]
    sms_pages = [m for m in outbox(http, team["phones"][team["sms"]]) if alert_id in m["body"]]
    mail_pages = [m for m in outbox(http, f"{team['mail']}@clinic.example") if alert_id in m["body"]]
    assert len(sms_pages) == 1 and len(mail_pages) == 1
    patient_sms = outbox(http, phone)
    assert len(patient_sms) == 1 and "15 g of fast sugar" in patient_sms[0]["body"]  # what to do (rule 11)
    assert "48" not in patient_sms[0]["body"]  # no reading values in an SMS by default

    for value in (50, 45, 52):
        http.call("POST", f"/patients/{pid}/readings", glucose(http, value), as_=me)
    http.call("POST", "/_local/drain")

    alert = http.call("GET", f"/alerts/{alert_id}", as_=doc).json()
    assert alert["occurrences"] == 4 and len(alert["reading_ids"]) == 4
    assert len([m for m in outbox(http, team["phones"][team["sms"]]) if alert_id in m["body"]]) == 1

    tick(http, parse_iso(alert["opened_at"]) + timedelta(minutes=16))
    escalated = http.call("GET", f"/alerts/{alert_id}", as_=doc).json()
    boss_pages = [m for m in outbox(http, team["phones"][team["boss"]]) if alert_id in m["body"]]
    assert escalated["escalation_level"] == 1
    assert len(boss_pages) == 1 and "ESCALATED" in boss_pages[0]["body"]

    acknowledged = http.call("POST", f"/alerts/{alert_id}/acknowledge", {"note": "calling her"}, as_=doc)
    assert acknowledged.status_code == 200 and acknowledged.json()["status"] == "acknowledged"

    def about_this_alert() -> int:
        # Only this alert's pages: a clinician's 08:00 digest may fall inside the hour ticked through.
        return len([m for m in http.call("GET", "/_local/outbox").json() if alert_id in m["body"]])

    before = about_this_alert()
    tick(http, parse_iso(alert["opened_at"]) + timedelta(minutes=76))
    assert about_this_alert() == before
    assert http.call("GET", f"/alerts/{alert_id}", as_=doc).json()["escalation_level"] == 1

    again = http.call("POST", f"/alerts/{alert_id}/acknowledge", {}, as_=doc)
    resolved = http.call("POST", f"/alerts/{alert_id}/resolve", {"note": "treated"}, as_=doc)
    reopened = http.call("POST", f"/alerts/{alert_id}/acknowledge", {}, as_=doc)
    assert again.status_code == 200 and again.json()["status"] == "acknowledged"  # a repeat by the same person
    assert reopened.status_code == 409  # a resolved alert is not acknowledged again
    assert resolved.status_code == 200 and len(resolved.json()["notes"]) == 2
    kinds = list(http.call("GET", f"/alerts?patient_id={pid}&status=resolved", as_=doc).json()["items"])
    assert kinds[0]["resolved_by"] == team["sms"]


def test_alerts_are_scoped_to_the_panel(http: Http, team: dict[str, Any], clinic: dict[str, Any]) -> None:
    pid = enroll(http, team, "+15554440002")
    http.call("POST", f"/patients/{pid}/readings", glucose(http, 45), as_=("patient", pid))
    http.call("POST", "/_local/drain")
    alert_id = http.call("GET", f"/alerts?patient_id={pid}", as_=("clinician", team["sms"])).json()["items"][0][
        "alert_id"
    ]

    outsider = http.call("GET", f"/alerts/{alert_id}", as_=clinic["c2"])
    patient = http.call("GET", f"/alerts/{alert_id}", as_=("patient", pid))
    listed = http.call("GET", "/alerts?limit=500", as_=clinic["c2"]).json()["items"]

    assert outsider.status_code == 404 and patient.status_code == 403
    assert all(a["alert_id"] != alert_id for a in listed)


def test_routine_high_goes_to_the_worklist_without_paging(http: Http, team: dict[str, Any]) -> None:
    pid = enroll(http, team, "+15554440003")
    doc_phone = team["phones"][team["sms"]]
    pages_before = len(outbox(http, doc_phone))

    http.call("POST", f"/patients/{pid}/readings", glucose(http, 250), as_=("patient", pid))
    http.call("POST", "/_local/drain")

    alerts = http.call("GET", f"/alerts?patient_id={pid}", as_=("clinician", team["sms"])).json()["items"]
    assert [(a["kind"], a["priority"]) for a in alerts] == [("high", "routine")]
    assert len(outbox(http, doc_phone)) == pages_before
    rows = http.call("GET", "/worklist", as_=("clinician", team["sms"])).json()["items"]
    row = next(r for r in rows if r["patient_id"] == pid)
    assert row["open_routine_alerts"] == 1 and row["days_since_last_reading"] == 0


def test_no_push_device_means_sms_and_stop_start_move_routine_messages(http: Http, team: dict[str, Any]) -> None:
    phone = "+15554440004"
    pid = enroll(http, team, phone)
    doc = ("clinician", team["sms"])

    http.call("POST", f"/patients/{pid}/messages", {"text": "How are you feeling today?"}, as_=doc)
    http.call("POST", "/_local/drain")
    first = outbox(http, phone)
    assert len(first) == 1 and "new message from your care team" in first[0]["body"]
    assert "feeling" not in first[0]["body"]

    http.call("POST", "/_local/inbound-sms", {"from": phone, "body": "STOP"})
    http.call("POST", "/_local/inbound-sms", {"from": phone, "body": "stop"})
    confirmations = [m for m in outbox(http, phone) if "no more text messages" in m["body"]]
    assert len(confirmations) == 1

    http.call("POST", f"/patients/{pid}/messages", {"text": "Please call us"}, as_=doc)
    http.call("POST", "/_local/drain")
    assert len(outbox(http, phone)) == 2
    assert any(
        "new message from your care team" in m["subject"] + m["body"] for m in outbox(http, f"{pid}@example.org")
    )

    http.call("POST", f"/patients/{pid}/readings", glucose(http, 40), as_=("patient", pid))
    http.call("POST", "/_local/drain")
    assert len(outbox(http, phone)) == 2  # still no SMS after STOP ...
    assert any("15 g of fast sugar" in m["body"] for m in outbox(http, f"{pid}@example.org"))  # ... email instead
    assert any("CRITICAL" in m["body"] for m in outbox(http, team["phones"][team["sms"]]))

    http.call("POST", "/_local/inbound-sms", {"from": phone, "body": "START"})
    http.call("POST", f"/patients/{pid}/messages", {"text": "Welcome back"}, as_=doc)
    http.call("POST", "/_local/drain")
    assert sum("new message from your care team" in m["body"] for m in outbox(http, phone)) == 2

    consents = {c["channel"]: c for c in http.call("GET", f"/patients/{pid}/consents", as_=doc).json()}
    assert consents["sms"]["granted"] and not consents["sms"]["opted_out"]


def test_sms_readings_help_red_flags_and_replies_join_one_conversation(http: Http, team: dict[str, Any]) -> None:
    phone = "+15554440005"
    pid = enroll(http, team, phone)
    doc = ("clinician", team["sms"])

    http.call("POST", "/_local/inbound-sms", {"from": phone, "body": "bp 142 / 91"})
    http.call("POST", "/_local/inbound-sms", {"from": phone, "body": "GLU 6.1 mmol"})
    http.call("POST", "/_local/inbound-sms", {"from": phone, "body": "HELP"})
    http.call("POST", "/_local/inbound-sms", {"from": phone, "body": "I am fine, just tired"})
    http.call("POST", "/_local/inbound-sms", {"from": phone, "body": "I have chest pain"})
    http.call("POST", "/_local/inbound-sms", {"from": "+15559990000", "body": "HELP"})

    readings = http.call("GET", f"/patients/{pid}/readings", as_=doc).json()["items"]
    assert {(r["type"], r["source"]) for r in readings} == {("blood_pressure", "sms"), ("blood_glucose", "sms")}
    assert next(r for r in readings if r["type"] == "blood_glucose")["value_mg_dl"] == 109.8
    replies = [m["body"] for m in outbox(http, phone)]
    assert sum("reading was received" in b for b in replies) == 2
    assert any("Reply STOP" in b for b in replies)
    assert any("alerting your care team" in b for b in replies)
    assert outbox(http, "+15559990000") == []  # unknown numbers get nothing back
    alerts = http.call("GET", f"/alerts?patient_id={pid}", as_=doc).json()["items"]
    assert "red_flag_message" in {a["kind"] for a in alerts}
    messages = http.call("GET", f"/patients/{pid}/messages", as_=doc).json()["items"]
    inbound = [m for m in messages if m["direction"] == "in"]
    assert [m["text"] for m in inbound][-2:] == ["I am fine, just tired", "I have chest pain"]
    assert len({m["thread_id"] for m in messages}) == 1
    assert any("new message from patient" in m["body"] for m in outbox(http, f"{team['mail']}@clinic.example"))


def test_the_daily_digest_counts_routine_alerts_at_8am_in_the_clinicians_zone(http: Http, team: dict[str, Any]) -> None:
    admin = ("admin", "a-1")
    cid, address = f"c-d-{team['tag']}", f"digest-{team['tag']}@clinic.example"
    http.call(
        "PUT",
        f"/clinicians/{cid}",
        {"given_name": "Dee", "email": address, "channels": ["email"], "timezone": "Asia/Shanghai"},
        as_=admin,
    )
    pid = enroll(http, team, "+15554440007", care_team=[cid])
    http.call("POST", f"/patients/{pid}/readings", glucose(http, 260), as_=("patient", pid))
    http.call("POST", "/_local/drain")
    now = server_now(http).astimezone(ZoneInfo("Asia/Shanghai"))
    eight = now.replace(hour=8, minute=0, second=0, microsecond=0)
    eight = eight if eight > now else eight + timedelta(days=1)

    tick(http, eight - timedelta(minutes=1))
    assert outbox(http, address) == []
    tick(http, eight)
    digests = outbox(http, address)
    tick(http, eight + timedelta(minutes=1))
    tick(http, eight + timedelta(days=1))  # nothing new since: no second digest

    assert len(digests) == 1
    assert "1 routine alerts" in digests[0]["body"] and pid not in digests[0]["body"]
    assert len(outbox(http, address)) == 1


def test_quiet_hours_defer_a_routine_message_to_8am_across_spring_forward(http: Http, team: dict[str, Any]) -> None:
    phone = "+15554440006"
    pid = enroll(http, team, phone, quiet_hours={"start": "21:00", "end": "08:00"})
    # 23:00 EST on Sat 2027-03-13; clocks spring forward at 02:00, so 08:00 EDT is 12:00Z (not 13:00Z).
    tick(http, datetime.fromisoformat("2027-03-14T04:00:00+00:00"))

    http.call("POST", f"/patients/{pid}/messages", {"text": "Routine check-in"}, as_=("clinician", team["sms"]))
    http.call("POST", "/_local/drain")
    assert outbox(http, phone) == []

    tick(http, datetime.fromisoformat("2027-03-14T11:59:00+00:00"))
    assert outbox(http, phone) == []
    tick(http, datetime.fromisoformat("2027-03-14T12:00:00+00:00"))
    assert len(outbox(http, phone)) == 1
    tick(http, datetime.fromisoformat("2027-03-14T12:01:00+00:00"))
    assert len(outbox(http, phone)) == 1
