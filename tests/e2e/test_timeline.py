"""The 360° view on the local stack: one timeline page holds every channel, in order."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from chalicelib.domain.timeutil import iso, parse_iso
from tests.e2e.conftest import Http
from tests.e2e.test_alerts_and_messaging import server_now, tick


def test_one_timeline_page_shows_every_channel_in_order(http: Http, clinic: dict[str, Any]) -> None:
    phone = "+1555777" + str(uuid.uuid4().int)[:4]
    pid = f"p-tl-{uuid.uuid4().hex[:6]}"
    me = ("patient", pid)
    enrolled = {
        "patient_id": pid,
        "given_name": "Ana",
        "family_name": "Silva",
        "phone": phone,
        "email": f"{pid}@example.org",
        "timezone": "America/New_York",
        "language": "en",
        "channels": ["sms", "email"],
        "care_team": ["c-1"],
        "quiet_hours": {"start": "00:00", "end": "00:00"},
    }
    assert http.call("POST", "/patients", enrolled, as_=clinic["c1"]).status_code == 201
    assert http.call("PUT", f"/patients/{pid}/consents/sms", {"granted": True}, as_=me).status_code == 200
    http.call("POST", "/_local/drain")

    def reading(value: int) -> dict[str, Any]:
        return {
            "type": "blood_glucose",
            "value": value,
            "unit": "mg/dL",
            "measured_at": iso(server_now(http) - timedelta(minutes=1)),
            "source": "device",
            "device_id": "meter-1",
        }

    assert http.call("POST", f"/patients/{pid}/readings", reading(120), as_=me).status_code == 201
    assert http.call("POST", f"/patients/{pid}/readings", reading(45), as_=me).status_code == 201  # critical
    http.call("POST", "/_local/drain")

    reminder = http.call(
        "POST",
        f"/patients/{pid}/reminders",
        {"reminder_id": "meds", "kind": "medication", "times": ["09:00"], "label": "metformin 500 mg"},
        as_=me,
    )
    assert reminder.status_code == 201, reminder.text
    tick(http, parse_iso(reminder.json()["next_due_at"]))
    assert http.call("POST", "/_local/inbound-sms", {"from": phone, "body": "TAKEN"}).status_code == 200
    assert http.call("PUT", f"/patients/{pid}/consents/email", {"granted": True}, as_=me).status_code == 200
    http.call("POST", "/_local/drain")

    page = http.call("GET", f"/patients/{pid}/timeline?limit=100", as_=clinic["c1"]).json()
    events = page["items"]
    assert page["next_cursor"] is None
    times = [e["at"] for e in events]
    assert times == sorted(times, reverse=True)
    kinds = [e["kind"] for e in events]
    # newest first: the email consent, the SMS reply, the reminder, the alert, the readings, the SMS consent
    order = [
        kinds.index("consent_changed"),
        kinds.index("message_in"),
        kinds.index("reminder_sent"),
        kinds.index("alert_opened"),
        kinds.index("reading"),
        len(kinds) - 1 - kinds[::-1].index("consent_changed"),
    ]
    assert order == sorted(order), kinds
    assert {"reminder_done", "message_out"} <= set(
        kinds
    )  # TAKEN completed the dose; the safety SMS and reminder went out
    assert sum(k == "reading" for k in kinds) == 2
    summaries = " | ".join(e["summary"] for e in events)
    assert "Glucose 45 mg/dL" in summaries
    sms_reply = events[kinds.index("message_in")]
    assert sms_reply["channel"] == "sms"

    only = http.call("GET", f"/patients/{pid}/timeline?kinds=message_in,consent_changed", as_=me).json()["items"]
    assert [e["kind"] for e in only] == [k for k in kinds if k in ("message_in", "consent_changed")]

    assert http.call("GET", f"/patients/{pid}/timeline", as_=("patient", "p-1")).status_code == 404
    assert http.call("GET", f"/patients/{pid}/timeline", as_=clinic["c2"]).status_code == 404
