"""Delivery truth over HTTP: receipts, bounces and complaints close the loop on every message.

moto reports nothing back, so ``POST /_local/delivery-event`` builds the provider's documented event
for the latest message to a recipient and hands it to the app's own handler.  Patients keep the
default quiet hours (21:00-08:00): sends happen at 08:00 and 10:00 in their zone, as they would.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.timeutil import iso, parse_iso
from tests.e2e.conftest import Http
from tests.e2e.test_safety_net import ADMIN, about, alerts, clinician, glucose, outbox, phone, post, stage_now, travel

ZONE = ZoneInfo("America/New_York")


def enrol(http: Http, doctor: str, channels: list[str]) -> dict[str, str]:
    pid = f"p-dt-{uuid.uuid4().hex[:8]}"
    body = {
        "patient_id": pid,
        "given_name": "Ana",
        "family_name": "Silva",
        "phone": phone(),
        "email": f"{pid}@example.org",
        "timezone": "America/New_York",
        "channels": channels,
        "care_team": [doctor],
    }
    created = http.call("POST", "/patients", body, as_=ADMIN)
    assert created.status_code == 201, created.text
    for channel in ("push", "sms", "email"):
        http.call("PUT", f"/patients/{pid}/consents/{channel}", {"granted": True}, as_=("patient", pid))
    return {"pid": pid, "phone": body["phone"], "email": body["email"]}


def event(http: Http, channel: str, to: str, outcome: str) -> dict[str, Any]:
    response = http.call("POST", "/_local/delivery-event", {"channel": channel, "to": to, "outcome": outcome})
    assert response.status_code == 200, response.text
    return dict(response.json())


def next_local(http: Http, hour: int) -> datetime:
    """The next ``hour``:00 in New York after the stage clock."""
    local = stage_now(http).astimezone(ZONE)
    candidate = local.replace(hour=hour, minute=0, second=0, microsecond=0)
    if candidate <= local:
        candidate = (candidate + timedelta(days=1)).replace(hour=hour)
    return candidate


def timeline(http: Http, pid: str, doctor: str, kind: str) -> list[dict[str, Any]]:
    page = http.call("GET", f"/patients/{pid}/timeline?kinds={kind}&limit=100", as_=("clinician", doctor))
    assert page.status_code == 200, page.text
    return list(page.json()["items"])


def test_a_reminder_that_bounces_marks_email_unreachable_and_the_next_one_goes_by_sms(http: Http) -> None:
    doctor, _ = clinician(http, phone=phone())
    p = enrol(http, doctor, ["email", "sms"])
    me = ("patient", p["pid"])
    created = http.call("POST", f"/patients/{p['pid']}/reminders", {"kind": "medication", "times": ["08:00"]}, as_=me)
    assert created.status_code == 201, created.text
    due = parse_iso(created.json()["next_due_at"])
    travel(http, due)
    assert len(outbox(http, p["email"])) == 1 and outbox(http, p["phone"]) == []

    event(http, "email", p["email"], "bounce")

    patient = http.call("GET", f"/patients/{p['pid']}", as_=("clinician", doctor)).json()
    assert patient["unreachable_channels"] == ["email"]
    assert len(outbox(http, p["phone"])) == 1  # the bounced reminder, again, on the next channel
    out = [e for e in timeline(http, p["pid"], doctor, "message_out") if e["channel"] == "email"]
    assert [e["status"] for e in out] == ["bounced"]
    (failed,) = timeline(http, p["pid"], doctor, "delivery_failed")
    assert "bounced" in failed["summary"] and "@" not in failed["summary"]  # the provider's words, no address
    rows = http.call("GET", "/worklist", as_=("clinician", doctor)).json()["items"]
    assert [r["unreachable_channels"] for r in rows if r["patient_id"] == p["pid"]] == [["email"]]

    # The same bounce again, and a delivery reported after it: nothing changes twice.
    event(http, "email", p["email"], "bounce")
    event(http, "email", p["email"], "delivered")
    assert len(outbox(http, p["phone"])) == 1
    assert len(timeline(http, p["pid"], doctor, "delivery_failed")) == 1
    out = [e for e in timeline(http, p["pid"], doctor, "message_out") if e["channel"] == "email"]
    assert [e["status"] for e in out] == ["bounced"]

    following = parse_iso(http.call("GET", f"/patients/{p['pid']}/reminders", as_=me).json()[0]["next_due_at"])
    travel(http, following)
    assert len(outbox(http, p["email"])) == 1 and len(outbox(http, p["phone"])) == 2

    # A new address is reachable at once (staff changes apply at once).
    fresh = f"new-{p['email']}"
    assert http.call("PATCH", f"/patients/{p['pid']}", {"email": fresh}, as_=("clinician", doctor)).status_code == 200
    assert http.call("GET", f"/patients/{p['pid']}", as_=("clinician", doctor)).json()["unreachable_channels"] == []


def test_a_complaint_suppresses_email_and_the_conversation_shows_it(http: Http) -> None:
    doctor, _ = clinician(http, phone=phone())
    p = enrol(http, doctor, ["email", "sms"])
    travel(http, next_local(http, 10))
    as_doctor = ("clinician", doctor)
    assert (
        http.call(
            "POST", f"/patients/{p['pid']}/messages", {"text": "How are the new strips?"}, as_=as_doctor
        ).status_code
        == 202
    )
    http.call("POST", "/_local/drain")
    assert len(outbox(http, p["email"])) == 1

    event(http, "email", p["email"], "delivered")
    messages = http.call("GET", f"/patients/{p['pid']}/messages", as_=as_doctor).json()["items"]
    assert [m["status"] for m in messages] == ["delivered"]
    event(http, "email", p["email"], "complaint")

    messages = http.call("GET", f"/patients/{p['pid']}/messages", as_=as_doctor).json()["items"]
    assert [m["status"] for m in messages] == ["complained"]
    assert outbox(http, p["phone"]) == []  # its reader got it: it is not sent again
    assert http.call("GET", f"/patients/{p['pid']}", as_=as_doctor).json()["unreachable_channels"] == ["email"]

    assert (
        http.call("POST", f"/patients/{p['pid']}/messages", {"text": "Call us if you can."}, as_=as_doctor).status_code
        == 202
    )
    http.call("POST", "/_local/drain")
    assert len(outbox(http, p["email"])) == 1 and len(outbox(http, p["phone"])) == 1


def test_a_failed_text_of_a_page_goes_to_the_on_call_list_when_the_clinician_has_no_other_waking_channel(
    http: Http,
) -> None:
    doctor, body = clinician(http, phone=phone())
    on_call, on_call_body = clinician(http, phone=phone())
    assert http.call("PUT", "/clinic/on-call", {"clinician_ids": [doctor, on_call]}, as_=ADMIN).status_code == 200
    p = enrol(http, doctor, ["sms"])
    now = stage_now(http)

    post(http, p["pid"], glucose(45), now - timedelta(minutes=1))
    (alert,) = alerts(http, p["pid"], doctor)
    assert len(about(outbox(http, body["phone"]), alert["alert_id"])) == 1
    assert about(outbox(http, on_call_body["phone"]), alert["alert_id"]) == []

    event(http, "sms", body["phone"], "failed")  # the carrier could not reach the phone

    # No voice identity on the local stage: SMS was the clinician's only waking channel.
    assert len(about(outbox(http, on_call_body["phone"]), alert["alert_id"])) == 1
    summaries = [e["summary"] for e in timeline(http, p["pid"], doctor, "delivery_failed")]
    assert any(f"to {doctor} by sms failed" in s for s in summaries)
    event(http, "sms", body["phone"], "failed")
    assert len(about(outbox(http, on_call_body["phone"]), alert["alert_id"])) == 1  # once


def test_an_invalid_number_shows_on_the_clinician_s_own_worklist(http: Http) -> None:
    doctor, body = clinician(http, phone=phone())
    p = enrol(http, doctor, ["sms"])
    post(http, p["pid"], glucose(45), stage_now(http) - timedelta(minutes=1))
    event(http, "sms", body["phone"], "bounce")  # "Invalid phone number"
    worklist = http.call("GET", "/worklist", as_=("clinician", doctor)).json()
    assert [e["code"] for e in worklist["configuration_errors"]] == ["phone_unreachable"]
    me = http.call("GET", f"/clinicians/{doctor}", as_=("clinician", doctor))
    assert me.status_code == 200 and me.json()["unreachable_channels"] == ["sms"]
    # Editing the profile keeps the mark while the number stays; a new number lifts it.
    again = http.call("PUT", f"/clinicians/{doctor}", {**body, "given_name": "Kit B."}, as_=ADMIN)
    assert again.status_code == 200 and again.json()["unreachable_channels"] == ["sms"]
    fresh = http.call("PUT", f"/clinicians/{doctor}", {**body, "phone": phone()}, as_=ADMIN)
    assert fresh.status_code == 200 and fresh.json()["unreachable_channels"] == []
    assert http.call("GET", "/worklist", as_=("clinician", doctor)).json()["configuration_errors"] == []


def test_a_disabled_push_endpoint_removes_the_device_and_the_message_goes_by_sms(http: Http) -> None:
    doctor, _ = clinician(http, phone=phone())
    p = enrol(http, doctor, ["push", "sms"])
    me = ("patient", p["pid"])
    device = http.call(
        "POST", f"/patients/{p['pid']}/devices", {"platform": "fcm", "token": f"fcm-{uuid.uuid4().hex}"}, as_=me
    )
    assert device.status_code == 201, device.text
    travel(http, next_local(http, 10))
    as_doctor = ("clinician", doctor)
    http.call("POST", f"/patients/{p['pid']}/messages", {"text": "Your new meter has shipped."}, as_=as_doctor)
    http.call("POST", "/_local/drain")
    assert len(outbox(http, p["pid"])) == 1 and outbox(http, p["phone"]) == []  # push's "to" is the owner

    event(http, "push", p["pid"], "failed")

    assert len(outbox(http, p["phone"])) == 1
    messages = http.call("GET", f"/patients/{p['pid']}/messages", as_=as_doctor).json()["items"]
    assert [(m["status"], m["channel"]) for m in messages] == [("sent", "sms")]  # it went out again, by SMS
    out = timeline(http, p["pid"], doctor, "message_out")
    assert sorted((e["channel"], e["status"]) for e in out) == [("push", "failed"), ("sms", "sent")]
    http.call("POST", f"/patients/{p['pid']}/messages", {"text": "And the strips too."}, as_=as_doctor)
    http.call("POST", "/_local/drain")
    assert len(outbox(http, p["pid"])) == 1 and len(outbox(http, p["phone"])) == 2


def test_the_local_route_refuses_what_no_provider_reports_and_names_the_field(http: Http) -> None:
    refused = http.call(
        "POST", "/_local/delivery-event", {"channel": "sms", "to": "+15550000000", "outcome": "complaint"}
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "outcome"
    missing = http.call(
        "POST", "/_local/delivery-event", {"channel": "email", "to": "nobody@example.org", "outcome": "bounce"}
    )
    assert missing.status_code == 404
    bad = http.call("POST", "/_local/delivery-event", {"channel": "fax", "to": "x", "outcome": "bounce"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "channel"
    assert iso(stage_now(http))  # the stage is still answering
