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


def test_moving_time_zone_reschedules_every_reminder(api: Api, app: Any, clinic: dict[str, Any]) -> None:
    from chalicelib import bootstrap
    from chalicelib.jobs.local_runner import LocalEventRunner

    c = bootstrap.container()
    pid = _patient(api, clinic, "America/New_York")
    me = ("patient", pid)
    before = body(api.call("POST", f"/patients/{pid}/reminders", {"kind": "measure_bp", "times": ["08:00"]}, as_=me))
    runner = LocalEventRunner(
        app, c.client("dynamodb"), c.client("dynamodbstreams"), c.client("sqs"), c.settings.table_name
    )
    runner.drain()

    api.call("PATCH", f"/patients/{pid}", {"timezone": "Asia/Tokyo"}, as_=me)
    runner.drain()

    after = body(api.call("GET", f"/patients/{pid}/reminders/{before['reminder_id']}", as_=me))
    assert parse_iso(before["next_due_at"]).hour in (12, 13)  # 08:00 New York
    assert parse_iso(after["next_due_at"]).hour == 23  # 08:00 Tokyo
