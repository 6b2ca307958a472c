"""Escalations never wait behind reminders: the tick handles them itself, before any reminder fan-out."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.conftest import Api, body, patient_body


def _queued(sqs: Any, queue: str) -> list[dict[str, Any]]:
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    found, handles = [], []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            found.append(json.loads(message["Body"]))
            handles.append(message["ReceiptHandle"])
    for handle in handles:  # back on the queue for whoever drains it next
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return found


def test_a_due_escalation_is_handled_by_the_tick_itself_not_queued_behind_reminders(
    api: Api, clinic: dict[str, Any]
) -> None:
    from chalicelib import bootstrap

    c = bootstrap.container()
    pid = f"p-esc-{uuid.uuid4().hex[:8]}"
    sent = patient_body(pid, care_team=["c-1"], phone=f"+1555{uuid.uuid4().int % 10**7:07d}")
    assert api.call("POST", "/patients", sent, as_=clinic["c1"]).status_code == 201
    reading = {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": 45,
        "unit": "mg/dL",
        "measured_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
    }
    assert api.call("POST", f"/patients/{pid}/readings", reading, as_=("patient", pid)).status_code == 201
    c.alerts.on_reading(c.table.get(f"PATIENT#{pid}", f"READING#{reading['reading_id']}"), c.patient_store.get(pid))
    (alert,) = body(api.call("GET", f"/alerts?patient_id={pid}", as_=clinic["c1"]))["items"]
    item = c.table.get(f"PATIENT#{pid}", f"ALERT#{alert['alert_id']}")
    due = datetime.fromisoformat(item["due_at"].replace("Z", "+00:00"))

    c.scheduler.tick(due)

    assert item["due_shard"] == "DUE#URGENT"
    escalated = c.table.get(f"PATIENT#{pid}", f"ALERT#{alert['alert_id']}")
    assert escalated["escalation_level"] == 1  # before any due-work message was consumed
    work = _queued(c.client("sqs"), "due-work")
    assert not any(i.get("alert_id") == alert["alert_id"] for w in work for i in w["items"])
