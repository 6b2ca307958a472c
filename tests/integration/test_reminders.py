"""Reminder lifecycle against moto: unanswered streaks, time-zone moves, stale ticks."""

from __future__ import annotations

import uuid
from typing import Any

from chalicelib.domain.timeutil import parse_iso
from tests.integration.conftest import Api, body, patient_body


def _patient(api: Api, clinic: dict[str, Any], timezone: str = "UTC") -> str:
    pid = f"p-rm-{uuid.uuid4().hex[:6]}"
    sent = patient_body(pid, timezone=timezone, channels=["sms"], quiet_hours={"start": "00:00", "end": "00:00"})
    assert api.call("POST", "/patients", sent, as_=clinic["c1"]).status_code == 201
    return pid


def test_after_three_unanswered_reminders_a_human_gets_a_task_once(api: Api, clinic: dict[str, Any]) -> None:
    from chalicelib import bootstrap

    c = bootstrap.container()
    pid = _patient(api, clinic)
    api.call(
        "POST",
        f"/patients/{pid}/reminders",
        {"reminder_id": "med", "kind": "medication", "times": ["08:00"]},
        as_=("patient", pid),
    )
    store = c.reminders._store

    for _ in range(5):
        item = store.get(pid, "med")
        c.reminders.fire(item, parse_iso(item["due_at"]))
        c.reminders.fire(item, parse_iso(item["due_at"]))  # a stale, repeated tick loses harmlessly

    tasks = c.messaging_store.table.query(
        "pk = :p AND begins_with(sk, :t)", {":p": f"PATIENT#{pid}", ":t": "TASK#"}
    ).items
    assert len(tasks) == 1 and "unanswered" in tasks[0]["reason"]
    alerts = body(api.call("GET", f"/alerts?patient_id={pid}", as_=clinic["c1"]))["items"]
    assert [a["kind"] for a in alerts] == ["unreachable_patient"]
    doses = store.doses_between(pid, "0000", "9999")
    assert len(doses) == 5


def test_moving_time_zone_reschedules_every_reminder(api: Api, stream_runner: Any, clinic: dict[str, Any]) -> None:
    pid = _patient(api, clinic, "America/New_York")
    me = ("patient", pid)
    before = body(api.call("POST", f"/patients/{pid}/reminders", {"kind": "measure_bp", "times": ["08:00"]}, as_=me))
    runner = stream_runner
    runner.drain()

    api.call("PATCH", f"/patients/{pid}", {"timezone": "Asia/Tokyo"}, as_=me)
    runner.drain()

    after = body(api.call("GET", f"/patients/{pid}/reminders/{before['reminder_id']}", as_=me))
    assert parse_iso(before["next_due_at"]).hour in (12, 13)  # 08:00 New York
    assert parse_iso(after["next_due_at"]).hour == 23  # 08:00 Tokyo


def test_a_gap_in_readings_nudges_at_three_days_alerts_at_seven_once_and_a_reading_clears_it(
    api: Api, clinic: dict[str, Any]
) -> None:
    from datetime import UTC, datetime, timedelta

    from chalicelib import bootstrap

    c = bootstrap.container()
    pid = _patient(api, clinic)
    me = ("patient", pid)
    api.call("POST", f"/patients/{pid}/reminders", {"kind": "measure_glucose", "times": ["07:00"]}, as_=me)
    watch = c.reminders._store.table.get(f"PATIENT#{pid}", "MISSED")
    anchor = parse_iso(watch["anchor"])
    sqs = c.client("sqs")
    outbound = sqs.get_queue_url(QueueName="outbound")["QueueUrl"]
    _drain_queue(sqs, outbound)  # what other tests left (PurgeQueue allows one call a minute)

    for at in (anchor + timedelta(days=3, minutes=1), anchor + timedelta(days=3, minutes=2)):
        c.scheduler.run([i for s in range(16) for i in c.scheduler.due(s, at)], at)  # what one tick's work does
    nudges = [
        m for m in _drain_queue(sqs, outbound) if m["template"] == "missed_readings_nudge" and m["patient_id"] == pid
    ]
    for at in (anchor + timedelta(days=7, minutes=1), anchor + timedelta(days=7, minutes=2)):
        c.scheduler.run([i for s in range(16) for i in c.scheduler.due(s, at)], at)  # one alert

    assert len(nudges) == 1
    alerts = body(api.call("GET", f"/alerts?patient_id={pid}", as_=clinic["c1"]))["items"]
    assert [a["kind"] for a in alerts] == ["missed_readings"]

    reading = {"type": "blood_glucose", "value": 110, "unit": "mg/dL", "measured_at": datetime.now(UTC).isoformat()}
    api.call("POST", f"/patients/{pid}/readings", reading, as_=me)
    stored = c.reading_store.table.get(f"PATIENT#{pid}", "PROFILE")
    assert stored is not None
    c.reminders.reading_arrived(
        {
            **reading,
            "patient_id": pid,
            "measured_at": reading["measured_at"].replace("+00:00", "Z"),
            "received_at": reading["measured_at"].replace("+00:00", "Z"),
        }
    )
    watch = c.reminders._store.table.get(f"PATIENT#{pid}", "MISSED")
    assert watch["stage"] == 0 and "due_at" in watch


def _drain_queue(sqs: Any, url: str) -> list[dict[str, Any]]:
    import json

    found = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return found
        found += [json.loads(m["Body"]) for m in got]
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


class _Queued:
    """Stands in for the outbound queue: keeps what a service enqueues, so the test delivers it itself."""

    def __init__(self) -> None:
        self.intents: list[Any] = []

    def enqueue(self, *intents: Any) -> None:
        self.intents += intents


def test_a_medication_reminder_held_back_by_quiet_hours_says_when_the_dose_was_due_not_take_it_now(
    api: Api, clinic: dict[str, Any]
) -> None:
    import json
    import os
    import urllib.request
    from zoneinfo import ZoneInfo

    from chalicelib import bootstrap
    from chalicelib.domain.timeutil import iso
    from chalicelib.services.messaging import MessagingService
    from chalicelib.services.reminders import ReminderService

    c = bootstrap.container()
    pid, phone = f"p-rm-{uuid.uuid4().hex[:6]}", "+1555" + str(uuid.uuid4().int)[:7]
    sent = patient_body(
        pid,
        phone=phone,
        timezone="America/New_York",
        language="en",
        channels=["sms"],
        quiet_hours={"start": "21:00", "end": "08:00"},
    )
    assert api.call("POST", "/patients", sent, as_=clinic["c1"]).status_code == 201
    api.call("PUT", f"/patients/{pid}/consents/sms", {"granted": True}, as_=("patient", pid))
    reminder = {"reminder_id": "night", "kind": "medication", "times": ["23:00"], "label": "Metformin 500 mg"}
    assert api.call("POST", f"/patients/{pid}/reminders", reminder, as_=("patient", pid)).status_code == 201
    item = c.reminders._store.get(pid, "night")
    due = parse_iso(item["due_at"])  # the next 23:00 in New York
    queued = _Queued()
    reminders = ReminderService(
        c.reminders._store,
        c.patients,
        c.patient_store,
        c.messaging_store,
        queued,
        c.audit,
        c.clock,
        str,  # type: ignore[arg-type]
        c.reactions.publish,
    )

    def messaging_at(moment: Any) -> MessagingService:
        return MessagingService(
            c.messaging_store,
            c.patient_store,
            c.clinician_store,
            queued,
            c.channels,
            lambda: moment,
            c.settings.clinic,
            c.reactions.publish,
        )

    reminders.fire(item, due)
    [intent] = queued.intents
    deferred = messaging_at(due).deliver(intent)
    parked = c.messaging_store.table.get(f"MSG#{intent.intent_id}", "DEFERRED")
    released = c.messaging_store.take_deferred(parked)
    delivered = messaging_at(parse_iso(parked["due_at"])).deliver(released)  # the tick at the end of quiet hours

    assert (intent.params["scheduled"], intent.params["due_at"]) == ("23:00", iso(due))
    assert (deferred, delivered) == ("deferred", "sent")
    assert parse_iso(parked["due_at"]).astimezone(ZoneInfo("America/New_York")).strftime("%H:%M") == "08:00"
    with urllib.request.urlopen(f"{os.environ['AWS_ENDPOINT_URL']}/moto-api/data.json") as response:
        texts = [s["message"] for s in json.loads(response.read())["sns"].get("SMS", []) if s["phone_number"] == phone]
    assert len(texts) == 1
    assert "scheduled at 23:00" in texts[0] and "do not double up" in texts[0]
    assert "time for your scheduled dose" not in texts[0] and "Metformin" not in texts[0]
