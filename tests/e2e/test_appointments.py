"""Appointments on the local stack: reminders before the visit, once each; replies confirm or ask to reschedule."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.timeutil import iso, parse_iso
from tests.e2e.conftest import Http
from tests.e2e.test_alerts_and_messaging import outbox, server_now, tick

NEW_YORK = ZoneInfo("America/New_York")


# Quiet hours switched off, for a test about replies and notices rather than when they go: the stage clock is
# wherever earlier tests left it. test_a_visit_moved_then_cancelled_at_night_... crosses quiet hours on that path.
QUIET_OFF = {"start": "00:00", "end": "00:00"}


def _patient(http: Http, clinic: dict[str, Any], phone: str, quiet: dict[str, str] | None = None) -> str:
    pid = f"p-appt-{uuid.uuid4().hex[:6]}"
    body = {
        "patient_id": pid,
        "given_name": "Ana",
        "family_name": "Silva",
        "phone": phone,
        "email": f"{pid}@example.org",
        "timezone": "America/New_York",
        "channels": ["sms", "email"],
        **({"quiet_hours": quiet} if quiet else {}),  # else the clinic's default, 21:00-08:00
    }
    assert http.call("POST", "/patients", body, as_=clinic["c1"]).status_code == 201
    for channel in ("sms", "email"):
        http.call("PUT", f"/patients/{pid}/consents/{channel}", {"granted": True}, as_=("patient", pid))
    return pid


def _in_two_days_at_1430(http: Http) -> datetime:
    local_day = server_now(http).astimezone(NEW_YORK).date() + timedelta(days=2)
    return datetime.combine(local_day, time(14, 30), tzinfo=NEW_YORK)


def test_a_video_visit_two_days_ahead_reminds_once_a_day_before_and_two_hours_before(
    http: Http, clinic: dict[str, Any]
) -> None:
    phone = "+15557770001"
    pid = _patient(http, clinic, phone)
    starts = _in_two_days_at_1430(http)
    booked = http.call(
        "POST",
        f"/patients/{pid}/appointments",
        {
            "appointment_id": "v-1",
            "starts_at": starts.isoformat(),
            "kind": "video",
            "join_url": "https://visit.example/v-1",
        },
        as_=clinic["c1"],
    )
    assert booked.status_code == 201, booked.text
    due = [parse_iso(r["due_at"]) for r in booked.json()["reminders"]]
    assert due == [starts - timedelta(days=1), starts - timedelta(hours=2)]

    tick(http, due[0] - timedelta(minutes=1))
    assert outbox(http, phone) == []
    tick(http, due[0])
    tick(http, due[0] + timedelta(minutes=1))
    assert len(outbox(http, phone)) == 1

    http.call("POST", "/_local/inbound-sms", {"from": phone, "body": "c"})
    assert http.call("GET", f"/patients/{pid}/appointments/v-1", as_=("patient", pid)).json()["status"] == "confirmed"

    tick(http, due[1])
    tick(http, due[1] + timedelta(minutes=5))
    texts = [m["body"] for m in outbox(http, phone)]
    emails = [m["body"] for m in outbox(http, f"{pid}@example.org")]
    assert sum("Reply C to confirm" in t for t in texts) == 2
    assert all("visit.example" not in t for t in texts)  # the join link never goes by SMS
    assert sum("https://visit.example/v-1" in e for e in emails) == 2


def test_r_by_sms_asks_to_reschedule_and_creates_a_care_team_task(http: Http, clinic: dict[str, Any]) -> None:
    phone = "+15557770002"
    pid = _patient(http, clinic, phone, quiet=QUIET_OFF)
    starts = _in_two_days_at_1430(http)
    http.call(
        "POST",
        f"/patients/{pid}/appointments",
        {"appointment_id": "v-2", "starts_at": starts.isoformat(), "kind": "in_person", "location": "Clinic room 2"},
        as_=clinic["c1"],
    )

    http.call("POST", "/_local/inbound-sms", {"from": phone, "body": "RESCHEDULE"})

    assert http.call("GET", f"/patients/{pid}/appointments/v-2", as_=clinic["c1"]).json()["status"] == (
        "reschedule_requested"
    )
    row = next(r for r in http.call("GET", "/worklist", as_=clinic["c1"]).json()["items"] if r["patient_id"] == pid)
    assert row["open_tasks"] == 1

    moved = http.call(
        "PATCH", f"/patients/{pid}/appointments/v-2", {"starts_at": iso(starts + timedelta(days=1))}, as_=clinic["c1"]
    )
    http.call("POST", "/_local/drain")
    cancelled = http.call("POST", f"/patients/{pid}/appointments/v-2/cancel", as_=clinic["c1"])
    http.call("POST", "/_local/drain")
    again = http.call("POST", f"/patients/{pid}/appointments/v-2/cancel", as_=clinic["c1"])
    late_move = http.call(
        "PATCH", f"/patients/{pid}/appointments/v-2", {"starts_at": iso(starts + timedelta(days=2))}, as_=clinic["c1"]
    )
    http.call("POST", "/_local/drain")

    assert moved.status_code == 200 and moved.json()["status"] == "scheduled"
    assert cancelled.json()["status"] == "cancelled"
    assert again.status_code == 200 and again.json() == cancelled.json()  # a repeated cancel changes nothing
    assert late_move.status_code == 409
    assert len([m for m in outbox(http, phone) if "is cancelled" in m["body"]]) == 1
    texts = [m["body"] for m in outbox(http, phone)]
    assert any("has moved to" in t for t in texts) and any("is cancelled" in t for t in texts)


def test_only_the_care_team_books_and_a_patient_may_only_confirm(http: Http, clinic: dict[str, Any]) -> None:
    pid = _patient(http, clinic, "+15557770003")
    starts = _in_two_days_at_1430(http)
    by_patient = http.call(
        "POST",
        f"/patients/{pid}/appointments",
        {"starts_at": starts.isoformat(), "kind": "phone"},
        as_=("patient", pid),
    )
    booked = http.call(
        "POST",
        f"/patients/{pid}/appointments",
        {"appointment_id": "v-3", "starts_at": starts.isoformat(), "kind": "phone", "remind_before": ["PT2H"]},
        as_=clinic["c1"],
    )
    move = http.call("PATCH", f"/patients/{pid}/appointments/v-3", {"starts_at": iso(starts)}, as_=("patient", pid))
    confirm = http.call("PATCH", f"/patients/{pid}/appointments/v-3", {"status": "confirmed"}, as_=("patient", pid))
    bad = http.call(
        "POST",
        f"/patients/{pid}/appointments",
        {"starts_at": starts.isoformat(), "kind": "video", "join_url": "http://insecure"},
        as_=clinic["c1"],
    )

    assert by_patient.status_code == 403 and booked.status_code == 201
    assert move.status_code == 403 and confirm.json()["status"] == "confirmed"
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "join_url"


def test_a_visit_moved_then_cancelled_at_night_is_only_cancelled_in_the_morning(
    http: Http, clinic: dict[str, Any]
) -> None:
    phone = f"+1555{uuid.uuid4().int % 10**7:07d}"
    pid = _patient(http, clinic, phone)  # the clinic's default quiet hours, 21:00-08:00
    night = (server_now(http).astimezone(NEW_YORK) + timedelta(days=1)).replace(hour=23, minute=30)
    tick(http, night)
    starts = datetime.combine(night.date() + timedelta(days=3), time(14, 30), tzinfo=NEW_YORK)
    path = f"/patients/{pid}/appointments/v-night"
    booked = http.call(
        "POST",
        f"/patients/{pid}/appointments",
        {"appointment_id": "v-night", "starts_at": iso(starts), "kind": "phone"},
        as_=clinic["c1"],
    )
    assert booked.status_code == 201, booked.text
    moved = http.call("PATCH", path, {"starts_at": iso(starts + timedelta(days=1))}, as_=clinic["c1"])
    assert moved.status_code == 200, moved.text
    assert http.call("POST", f"{path}/cancel", as_=clinic["c1"]).status_code == 200
    http.call("POST", "/_local/drain")
    assert outbox(http, phone) == []  # both notices held by quiet hours

    tick(http, datetime.combine(night.date() + timedelta(days=1), time(8, 1), tzinfo=NEW_YORK))
    texts = [m["body"] for m in outbox(http, phone)]
    assert len(texts) == 1 and "is cancelled" in texts[0], texts  # never "has moved ... Reply C to confirm"
