"""Reminders on the local stack, driven by /_local/tick: local time, once per occurrence, catching up once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.timeutil import iso, parse_iso
from tests.e2e.conftest import Http
from tests.e2e.test_alerts_and_messaging import outbox, tick


def _patient(http: Http, clinic: dict[str, Any], phone: str) -> str:
    pid = f"p-rem-{uuid.uuid4().hex[:6]}"
    body = {
        "patient_id": pid,
        "given_name": "Ana",
        "family_name": "Silva",
        "phone": phone,
        "timezone": "America/New_York",
        "channels": ["sms"],
        "quiet_hours": {"start": "00:00", "end": "00:00"},
    }
    assert http.call("POST", "/patients", body, as_=clinic["c1"]).status_code == 201
    http.call("PUT", f"/patients/{pid}/consents/sms", {"granted": True}, as_=("patient", pid))
    return pid


def test_an_8am_reminder_fires_at_8am_local_once_and_a_skipped_tick_catches_up_once(
    http: Http, clinic: dict[str, Any]
) -> None:
    phone = "+15556660001"
    pid = _patient(http, clinic, phone)
    me = ("patient", pid)

    created = http.call(
        "POST",
        f"/patients/{pid}/reminders",
        {"reminder_id": "am-med", "kind": "medication", "times": ["08:00"], "label": "Metformin"},
        as_=me,
    )
    assert created.status_code == 201, created.text
    due = parse_iso(created.json()["next_due_at"])
    local = due.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (8, 0)
    assert due.hour == (12 if local.utcoffset() == timedelta(hours=-4) else 13)

    tick(http, due - timedelta(minutes=1))
    assert outbox(http, phone) == []
    tick(http, due)
    tick(http, due)  # the same minute twice
    first = outbox(http, phone)
    assert len(first) == 1 and "scheduled dose" in first[0]["body"] and "Metformin" not in first[0]["body"]

    following = parse_iso(http.call("GET", f"/patients/{pid}/reminders/am-med", as_=me).json()["next_due_at"])
    assert following - due in (timedelta(hours=23), timedelta(hours=24), timedelta(hours=25))
    tick(http, following + timedelta(minutes=10))  # ten ticks were skipped
    tick(http, following + timedelta(minutes=11))
    assert len(outbox(http, phone)) == 2

    http.call("POST", "/_local/inbound-sms", {"from": phone, "body": "TAKEN"})
    adherence = http.call("GET", f"/patients/{pid}/adherence?days=7", as_=clinic["c1"]).json()
    assert adherence["overall"]["due"] == 2 and adherence["overall"]["done"] == 1
    assert adherence["reminders"][0]["pct"] == 50.0


def test_a_reading_within_two_hours_completes_a_measurement_reminder(http: Http, clinic: dict[str, Any]) -> None:
    pid = _patient(http, clinic, "+15556660002")
    me = ("patient", pid)
    created = http.call(
        "POST",
        f"/patients/{pid}/reminders",
        {"reminder_id": "bp", "kind": "measure_bp", "times": ["09:00", "21:00"]},
        as_=me,
    ).json()
    due = parse_iso(created["next_due_at"])
    tick(http, due)

    reading = {
        "type": "blood_pressure",
        "systolic": 128,
        "diastolic": 78,
        "measured_at": iso(due + timedelta(minutes=30)),
        "source": "device",
        "device_id": "cuff-1",
    }
    tick(http, due + timedelta(minutes=31))
    assert http.call("POST", f"/patients/{pid}/readings", reading, as_=me).status_code == 201
    http.call("POST", "/_local/drain")

    adherence = http.call("GET", f"/patients/{pid}/adherence?days=7", as_=me).json()
    assert (adherence["overall"]["due"], adherence["overall"]["done"]) == (1, 1)


def test_reminder_validation_and_scope(http: Http, clinic: dict[str, Any]) -> None:
    pid = _patient(http, clinic, "+15556660003")
    bad_time = http.call(
        "POST", f"/patients/{pid}/reminders", {"kind": "measure_bp", "times": ["25:00"]}, as_=("patient", pid)
    )
    bad_kind = http.call(
        "POST", f"/patients/{pid}/reminders", {"kind": "nap", "times": ["08:00"]}, as_=("patient", pid)
    )
    stranger = http.call("GET", f"/patients/{pid}/reminders", as_=("patient", "p-stranger"))
    bad_days = http.call("GET", f"/patients/{pid}/adherence?days=3", as_=("patient", pid))

    assert bad_time.status_code == 422 and bad_time.json()["errors"][0]["field"].startswith("times")
    assert bad_kind.status_code == 422
    assert stranger.status_code == 404
    assert bad_days.status_code == 400


def test_a_reminder_in_the_spring_forward_gap_fires_once_at_the_first_valid_minute(
    http: Http, clinic: dict[str, Any]
) -> None:
    # Runs last in the e2e tier: it moves the stage's clock to March 2028 (clocks spring forward on the 12th).
    from datetime import datetime

    phone = "+15556660004"
    pid = _patient(http, clinic, phone)
    tick(http, datetime.fromisoformat("2028-03-11T12:00:00+00:00"))
    created = http.call(
        "POST",
        f"/patients/{pid}/reminders",
        {"reminder_id": "night", "kind": "medication", "times": ["02:30"]},
        as_=("patient", pid),
    ).json()
    assert created["next_due_at"] == "2028-03-12T07:00:00.000Z"  # 02:30 does not exist that night
    tick(http, datetime.fromisoformat("2028-03-12T06:59:00+00:00"))
    sent_before = len(outbox(http, phone))
    tick(http, datetime.fromisoformat("2028-03-12T07:00:00+00:00"))  # 03:00 EDT: the first minute after the gap
    tick(http, datetime.fromisoformat("2028-03-12T07:30:00+00:00"))
    tick(http, datetime.fromisoformat("2028-03-12T08:00:00+00:00"))

    assert len(outbox(http, phone)) == sent_before + 1
    following = http.call("GET", f"/patients/{pid}/reminders/night", as_=("patient", pid)).json()["next_due_at"]
    assert following == "2028-03-13T06:30:00.000Z"  # 02:30 EDT the next night
