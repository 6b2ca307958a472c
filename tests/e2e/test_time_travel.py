"""Travelling the local clock with quiet hours on: deferred reminders are released, each reminder names its own time.

Every time here is computed from the stage clock (``POST /_local/drain`` answers
``now``), which other e2e tests have moved forward and which never goes back:
each test starts a few days after the stage's "now", in America/New_York with
the default quiet hours (21:00-08:00), and uses its own patients and numbers.

Ticks are sent as a tester in New York types them, with the local offset
("2026-12-03T08:00:00-05:00"): the runner used to read that wall time as UTC,
so the jobs ran five hours before the instant the stage clock moved to.
"""

from __future__ import annotations

import time as wall
import uuid
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.timeutil import iso, parse_iso
from tests.e2e.conftest import Http
from tests.e2e.test_alerts_and_messaging import outbox, server_now

NEW_YORK = ZoneInfo("America/New_York")
QUIET_HOURS = {"start": "21:00", "end": "08:00"}


def _patient(http: Http, clinic: dict[str, Any], phone: str, email: str | None = None) -> str:
    pid = f"p-tt-{uuid.uuid4().hex[:6]}"
    channels = ["sms", "email"] if email else ["sms"]
    body: dict[str, Any] = {
        "patient_id": pid,
        "given_name": "Ana",
        "family_name": "Silva",
        "phone": phone,
        "timezone": "America/New_York",
        "channels": channels,
        "quiet_hours": QUIET_HOURS,
    }
    if email:
        body["email"] = email
    created = http.call("POST", "/patients", body, as_=clinic["c1"])
    assert created.status_code == 201, created.text
    for channel in channels:
        granted = http.call("PUT", f"/patients/{pid}/consents/{channel}", {"granted": True}, as_=("patient", pid))
        assert granted.status_code == 200, granted.text
    return pid


def _new_york(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=NEW_YORK)


def tick(http: Http, at: datetime) -> None:
    """``POST /_local/tick`` with New York wall time and its offset, e.g. 2026-12-03T08:00:00-05:00."""
    response = http.call("POST", "/_local/tick", {"now": at.astimezone(NEW_YORK).isoformat()})
    assert response.status_code == 200, response.text


def _a_few_days_ahead(http: Http) -> date:
    """A New York day three days after the stage's now (never a date fixed at import time)."""
    return server_now(http).astimezone(NEW_YORK).date() + timedelta(days=3)


def _timeline(http: Http, clinic: dict[str, Any], pid: str) -> list[dict[str, Any]]:
    response = http.call("GET", f"/patients/{pid}/timeline", params={"limit": 100}, as_=clinic["c1"])
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_a_23h_medication_reminder_in_quiet_hours_is_deferred_and_released_once_at_8am(
    http: Http, clinic: dict[str, Any]
) -> None:
    phone = "+15558810001"
    pid = _patient(http, clinic, phone)
    day = _a_few_days_ahead(http)
    tick(http, _new_york(day, 12))  # the stage is now midday, three days on

    created = http.call(
        "POST",
        f"/patients/{pid}/reminders",
        {"reminder_id": "late-med", "kind": "medication", "times": ["23:00"]},
        as_=("patient", pid),
    )
    assert created.status_code == 201, created.text
    due = parse_iso(created.json()["next_due_at"])
    assert due == _new_york(day, 23)

    tick(http, due)  # 23:00: quiet hours, the reminder is deferred, not sent
    assert outbox(http, phone) == []
    sent = [e for e in _timeline(http, clinic, pid) if e["kind"] == "reminder_sent"]
    assert [(e["at"], e["ref"]["due_at"]) for e in sent] == [(iso(due), iso(due))]

    morning = _new_york(day + timedelta(days=1), 8)
    tick(http, morning - timedelta(minutes=1))  # 07:59: still quiet
    assert outbox(http, phone) == []
    tick(http, morning)
    assert len(outbox(http, phone)) == 1  # its wording is another issue's: only the count is checked here
    for later in (timedelta(minutes=1), timedelta(minutes=5), timedelta(hours=1)):
        tick(http, morning + later)
    assert len(outbox(http, phone)) == 1

    out = [e for e in _timeline(http, clinic, pid) if e["kind"] == "message_out"]
    assert [(e["channel"], e["ref"]["template"], e["ref"]["intent_id"]) for e in out] == [
        ("sms", "reminder_medication", f"reminder:{pid}:late-med:{iso(due)}")
    ]
    assert morning <= parse_iso(out[0]["at"]) < morning + timedelta(minutes=1)  # sent at 08:00, by the stage clock


def test_an_appointment_reminds_a_day_before_and_two_hours_before_each_once_at_its_own_time(
    http: Http, clinic: dict[str, Any]
) -> None:
    phone = "+15558810002"
    pid = _patient(http, clinic, phone, email=f"tt-{uuid.uuid4().hex[:6]}@example.org")
    email = http.call("GET", f"/patients/{pid}", as_=clinic["c1"]).json()["email"]
    starts = _new_york(_a_few_days_ahead(http), 14, 30)
    booked = http.call(
        "POST",
        f"/patients/{pid}/appointments",
        {
            "appointment_id": "tt-visit",
            "starts_at": starts.isoformat(),
            "kind": "video",
            "join_url": "https://visit.example/tt-visit",
            "remind_before": ["P1D", "PT2H"],
        },
        as_=clinic["c1"],
    )
    assert booked.status_code == 201, booked.text
    day_before, two_hours_before = (parse_iso(r["due_at"]) for r in booked.json()["reminders"])
    assert (day_before, two_hours_before) == (starts - timedelta(days=1), starts - timedelta(hours=2))

    def sent_intents() -> list[str]:
        return sorted(e["ref"]["intent_id"] for e in _timeline(http, clinic, pid) if e["kind"] == "message_out")

    base = f"appt:{pid}:tt-visit:reminder"
    tick(http, day_before - timedelta(minutes=1))
    assert outbox(http, phone) == [] and outbox(http, email) == []
    tick(http, day_before)
    assert len(outbox(http, phone)) == 1 and len(outbox(http, email)) == 1
    assert sent_intents() == [f"{base}:{iso(day_before)}", f"{base}:{iso(day_before)}:link"]
    tick(http, day_before + timedelta(minutes=1))
    assert len(outbox(http, phone)) == 1 and len(outbox(http, email)) == 1

    tick(http, two_hours_before - timedelta(minutes=1))
    assert len(outbox(http, phone)) == 1
    tick(http, two_hours_before)
    assert len(outbox(http, phone)) == 2 and len(outbox(http, email)) == 2
    tick(http, two_hours_before + timedelta(minutes=5))
    assert len(outbox(http, phone)) == 2 and len(outbox(http, email)) == 2
    assert sent_intents() == sorted(
        [
            f"{base}:{iso(day_before)}",
            f"{base}:{iso(day_before)}:link",
            f"{base}:{iso(two_hours_before)}",
            f"{base}:{iso(two_hours_before)}:link",
        ]
    )
    noted = [e["at"] for e in _timeline(http, clinic, pid) if e["kind"] == "reminder_sent"]
    assert noted == [iso(two_hours_before), iso(day_before)]  # newest first, each at its own tick
    reminders = http.call("GET", f"/patients/{pid}/appointments/tt-visit", as_=clinic["c1"]).json()["reminders"]
    assert [r["sent"] for r in reminders] == [True, True]


def test_the_stage_ticks_itself_each_minute_of_the_travelled_clock(http: Http, clinic: dict[str, Any]) -> None:
    # The background runner ticked real-time minutes, which lie in the stage's past once it has
    # travelled: an 08:00 release waited for someone to POST /_local/tick.
    phone = "+15558810003"
    pid = _patient(http, clinic, phone)
    day = _a_few_days_ahead(http)
    tick(http, _new_york(day, 12))
    created = http.call(
        "POST",
        f"/patients/{pid}/reminders",
        {"reminder_id": "late-med", "kind": "medication", "times": ["23:00"]},
        as_=("patient", pid),
    )
    assert created.status_code == 201, created.text
    tick(http, parse_iso(created.json()["next_due_at"]))  # deferred to 08:00
    morning = _new_york(day + timedelta(days=1), 8)

    tick(http, morning - timedelta(seconds=10))  # the last tick anyone sends
    deadline = wall.monotonic() + 60
    while not outbox(http, phone) and wall.monotonic() < deadline:
        wall.sleep(0.5)

    assert len(outbox(http, phone)) == 1
    out = [e for e in _timeline(http, clinic, pid) if e["kind"] == "message_out"]
    assert len(out) == 1 and morning <= parse_iso(out[0]["at"]) < morning + timedelta(minutes=1)
