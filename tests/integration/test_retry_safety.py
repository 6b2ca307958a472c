"""Every write a client can repeat is safe to repeat, and safe when the SDK repeats it for us.

The fault that broke CI on a loaded machine: a DynamoDB write reached the
emulator, the answer did not come back in time, botocore retried, and the
retry was refused by the condition its own first attempt had made true (a
409 for a create that had succeeded).  ``LandThenTimeOut`` reproduces it with
a botocore ``before-send`` hook on the container's real client: the first
attempt of every write is sent to the emulator for real, then the SDK is told
the read timed out, so it sends the same request again.  No module of ours is
patched.  Each route must then answer as it would without the fault, with one
item stored and one timeline/audit entry.

A client repeating a request (its own retry after a lost answer) is answered
as the first request was: same status class, same body; different content
under the same key is a 409.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from tests.integration.conftest import Api, body, patient_body

WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"})


class LandThenTimeOut:
    """``before-send`` hook: each distinct write is delivered once for real, then reported as a read timeout."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._seen: set[str] = set()
        self.faults: list[str] = []

    def __call__(self, request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        operation = (target.decode() if isinstance(target, bytes) else str(target)).rsplit(".", 1)[-1]
        if operation not in WRITES:
            return None
        body = request.body if isinstance(request.body, bytes) else str(request.body or "").encode()
        fingerprint = hashlib.sha256(body).hexdigest()
        if fingerprint in self._seen:
            return None  # botocore's retry goes through untouched
        self._seen.add(fingerprint)
        self._client._endpoint.http_session.send(request)  # the write lands ...
        self.faults.append(operation)
        raise ReadTimeoutError(endpoint_url=request.url)  # ... and its answer is "lost"


@pytest.fixture
def lost_answers() -> Iterator[LandThenTimeOut]:
    """Arm the fault on the app's DynamoDB client for the duration of one test step (see ``armed``)."""
    from chalicelib import bootstrap

    client = bootstrap.container().client("dynamodb")
    hook = LandThenTimeOut(client)
    yield hook
    client.meta.events.unregister("before-send.dynamodb", hook)


class armed:
    def __init__(self, hook: LandThenTimeOut) -> None:
        from chalicelib import bootstrap

        self._client = bootstrap.container().client("dynamodb")
        self._hook = hook

    def __enter__(self) -> LandThenTimeOut:
        self._client.meta.events.register("before-send.dynamodb", self._hook)
        return self._hook

    def __exit__(self, *_: Any) -> None:
        self._client.meta.events.unregister("before-send.dynamodb", self._hook)


def _items(pk: str, prefix: str) -> list[dict[str, Any]]:
    from chalicelib import bootstrap

    table = bootstrap.container().table
    return table.query_all("pk = :p AND begins_with(sk, :s)", {":p": pk, ":s": prefix}, consistent=True)


def _audit(patient_id: str, action: str, resource: str) -> list[dict[str, Any]]:
    from chalicelib import bootstrap

    c = bootstrap.container()
    entries = c.audit_table.query_all("pk = :p", {":p": f"PATIENT#{patient_id}"}, consistent=True)
    return [e for e in entries if e["action"] == action and e["resource"] == resource]


def _events(patient_id: str, kind: str) -> list[dict[str, Any]]:
    return [e for e in _items(f"PATIENT#{patient_id}", "EVENT#") if e["kind"] == kind]


def _enrolled(api: Api, clinic: dict[str, Any], **overrides: Any) -> str:
    pid = f"p-rs-{uuid.uuid4().hex[:8]}"
    sent = patient_body(pid, care_team=["c-1"], phone=f"+1555{uuid.uuid4().int % 10**7:07d}", **overrides)
    response = api.call("POST", "/patients", sent, as_=("clinician", "c-1"))
    assert response.status_code == 201, response.body
    return pid


# -- patients and clinicians ------------------------------------------------------------------


def test_an_enrolment_whose_answer_was_lost_is_created_once_and_answered_201(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    pid = f"p-rs-{uuid.uuid4().hex[:8]}"
    sent = patient_body(pid, care_team=["c-1"])

    with armed(lost_answers):
        response = api.call("POST", "/patients", sent, as_=("clinician", "c-1"))

    assert "TransactWriteItems" in lost_answers.faults
    assert response.status_code == 201, response.body
    assert body(response)["patient_id"] == pid
    assert len(_items(f"PATIENT#{pid}", "PROFILE")) == 1
    assert len(_items("CLINICIAN#c-1", f"PATIENT#{pid}")) == 1
    assert len(_audit(pid, "create", "patient")) == 1


def test_a_repeated_enrolment_is_answered_with_the_stored_patient_and_other_content_is_a_conflict(
    api: Api, clinic: dict[str, Any]
) -> None:
    pid = f"p-rs-{uuid.uuid4().hex[:8]}"
    sent = patient_body(pid, care_team=["c-1"])
    first = api.call("POST", "/patients", sent, as_=("clinician", "c-1"))

    again = api.call("POST", "/patients", sent, as_=("clinician", "c-1"))
    other = api.call("POST", "/patients", {**sent, "given_name": "Bea"}, as_=("clinician", "c-1"))

    assert first.status_code == 201
    assert again.status_code == 200 and body(again) == body(first)
    assert other.status_code == 409
    assert other.headers["Content-Type"] == "application/problem+json"


def test_an_idempotency_key_makes_a_server_chosen_patient_id_safe_to_repeat(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    key = {"Idempotency-Key": f"enrol-{uuid.uuid4()}"}
    sent = patient_body(None, care_team=["c-1"])

    with armed(lost_answers):
        first = api.call("POST", "/patients", sent, as_=("clinician", "c-1"), headers=key)
    again = api.call("POST", "/patients", sent, as_=("clinician", "c-1"), headers=key)
    other = api.call("POST", "/patients", {**sent, "family_name": "Costa"}, as_=("clinician", "c-1"), headers=key)
    unkeyed = api.call("POST", "/patients", sent, as_=("clinician", "c-1"))

    assert first.status_code == 201, first.body
    assert again.status_code == 200 and body(again) == body(first)
    assert other.status_code == 409
    assert body(unkeyed)["patient_id"] != body(first)["patient_id"]  # no key, no dedupe
    assert len(_audit(body(first)["patient_id"], "create", "patient")) == 1


def test_a_malformed_idempotency_key_is_a_400_naming_the_header(api: Api, clinic: dict[str, Any]) -> None:
    response = api.call(
        "POST", "/patients", patient_body(None), as_=("clinician", "c-1"), headers={"Idempotency-Key": "x" * 129}
    )

    assert response.status_code == 400
    assert body(response)["errors"][0]["field"] == "Idempotency-Key"


def test_a_profile_change_whose_answer_was_lost_is_applied_once(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    pid = _enrolled(api, clinic)
    change = {"language": "es", "quiet_hours": {"start": "22:00", "end": "07:00"}}

    with armed(lost_answers):
        response = api.call("PATCH", f"/patients/{pid}", change, as_=("patient", pid))
    again = api.call("PATCH", f"/patients/{pid}", change, as_=("patient", pid))

    assert "TransactWriteItems" in lost_answers.faults
    assert response.status_code == 200, response.body
    assert body(response)["language"] == "es"
    assert again.status_code == 200 and body(again) == body(response)
    assert len(_audit(pid, "update", "patient")) == 2  # two requests, each audited once


def test_a_clinician_registration_whose_answer_was_lost_answers_200_and_a_repeat_the_same_body(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    cid = f"c-rs-{uuid.uuid4().hex[:8]}"
    sent = {"given_name": "Lia", "phone": "+15551239002", "email": f"{cid}@clinic.example"}

    with armed(lost_answers):
        first = api.call("PUT", f"/clinicians/{cid}", sent, as_=clinic["admin"])
    again = api.call("PUT", f"/clinicians/{cid}", sent, as_=clinic["admin"])

    assert "PutItem" in lost_answers.faults
    assert first.status_code == 200, first.body
    assert again.status_code == 200 and body(again) == body(first)


# -- targets and consents ---------------------------------------------------------------------


def test_targets_whose_answer_was_lost_are_one_version_and_a_repeat_changes_nothing(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    pid = _enrolled(api, clinic)
    targets = {"glucose": {"low": 75, "high_fasting": 120}}

    with armed(lost_answers):
        first = api.call("PUT", f"/patients/{pid}/targets", targets, as_=clinic["c1"])
    again = api.call("PUT", f"/patients/{pid}/targets", targets, as_=clinic["c1"])

    assert first.status_code == 200, first.body
    assert body(first)["version"] == 1
    assert again.status_code == 200 and body(again) == body(first)


def test_a_consent_whose_answer_was_lost_is_stored_once_and_a_repeat_changes_nothing(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    pid = _enrolled(api, clinic)
    consent = {"granted": True, "source": "app", "full_content": False}

    with armed(lost_answers):
        first = api.call("PUT", f"/patients/{pid}/consents/sms", consent, as_=("patient", pid))
    again = api.call("PUT", f"/patients/{pid}/consents/sms", consent, as_=("patient", pid))

    assert "PutItem" in lost_answers.faults
    assert first.status_code == 200, first.body
    assert again.status_code == 200 and body(again) == body(first)
    assert len(_items(f"PATIENT#{pid}", "CONSENT#sms")) == 1


# -- reminders and appointments ---------------------------------------------------------------


def test_a_reminder_whose_answer_was_lost_is_created_once_and_answered_201(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    pid = _enrolled(api, clinic)
    sent = {"reminder_id": "am-bp", "kind": "measure_bp", "times": ["08:00"]}

    with armed(lost_answers):
        first = api.call("POST", f"/patients/{pid}/reminders", sent, as_=("patient", pid))
    again = api.call("POST", f"/patients/{pid}/reminders", sent, as_=("patient", pid))
    other = api.call("POST", f"/patients/{pid}/reminders", {**sent, "times": ["09:00"]}, as_=("patient", pid))

    assert "PutItem" in lost_answers.faults
    assert first.status_code == 201, first.body
    assert again.status_code == 200 and body(again) == body(first)
    assert other.status_code == 409
    assert len(_items(f"PATIENT#{pid}", "REMINDER#")) == 1
    assert len(_audit(pid, "create", "reminder")) == 1


def test_an_idempotency_key_makes_a_server_chosen_reminder_id_safe_to_repeat(api: Api, clinic: dict[str, Any]) -> None:
    pid = _enrolled(api, clinic)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    sent = {"kind": "medication", "times": ["20:00"]}

    first = api.call("POST", f"/patients/{pid}/reminders", sent, as_=("patient", pid), headers=key)
    again = api.call("POST", f"/patients/{pid}/reminders", sent, as_=("patient", pid), headers=key)

    assert first.status_code == 201 and again.status_code == 200
    assert body(again) == body(first)
    assert len(_items(f"PATIENT#{pid}", "REMINDER#")) == 1


def test_an_appointment_whose_answer_was_lost_is_booked_once(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    pid = _enrolled(api, clinic)
    starts = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0).isoformat()
    sent = {"appointment_id": "v-1", "starts_at": starts, "kind": "video", "join_url": "https://visit.example/v-1"}

    with armed(lost_answers):
        first = api.call("POST", f"/patients/{pid}/appointments", sent, as_=clinic["c1"])
    again = api.call("POST", f"/patients/{pid}/appointments", sent, as_=clinic["c1"])
    cancelled = api.call("POST", f"/patients/{pid}/appointments/v-1/cancel", as_=clinic["c1"])
    cancelled_again = api.call("POST", f"/patients/{pid}/appointments/v-1/cancel", as_=clinic["c1"])

    assert first.status_code == 201, first.body
    assert again.status_code == 200 and body(again) == body(first)
    assert len(_items(f"PATIENT#{pid}", "APPT#")) == 1
    assert len([e for e in _events(pid, "note") if "booked" in e["summary"]]) == 1
    assert cancelled.status_code == 200
    assert cancelled_again.status_code == 200 and body(cancelled_again) == body(cancelled)


# -- messages, notes, care time ---------------------------------------------------------------


def test_a_message_whose_answer_was_lost_is_stored_and_sent_once(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    pid = _enrolled(api, clinic)
    sent = {"message_id": "m-visit-1", "text": "Please call us about your visit."}

    with armed(lost_answers):
        first = api.call("POST", f"/patients/{pid}/messages", sent, as_=clinic["c1"])
    again = api.call("POST", f"/patients/{pid}/messages", sent, as_=clinic["c1"])
    other = api.call("POST", f"/patients/{pid}/messages", {**sent, "text": "Something else"}, as_=clinic["c1"])

    assert "TransactWriteItems" in lost_answers.faults
    assert first.status_code == 202, first.body
    assert again.status_code == 202 and body(again) == body(first)
    assert other.status_code == 409
    thread = body(api.call("GET", f"/patients/{pid}/messages", as_=clinic["c1"]))["items"]
    assert [m["message_id"] for m in thread] == ["m-visit-1"]


def test_an_idempotency_key_makes_a_message_without_an_id_safe_to_repeat(api: Api, clinic: dict[str, Any]) -> None:
    pid = _enrolled(api, clinic)
    key = {"Idempotency-Key": str(uuid.uuid4())}

    first = api.call("POST", f"/patients/{pid}/messages", {"text": "Hello"}, as_=clinic["c1"], headers=key)
    again = api.call("POST", f"/patients/{pid}/messages", {"text": "Hello"}, as_=clinic["c1"], headers=key)

    assert body(again) == body(first)
    assert len(body(api.call("GET", f"/patients/{pid}/messages", as_=clinic["c1"]))["items"]) == 1


def test_a_note_whose_answer_was_lost_is_one_timeline_entry(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    pid = _enrolled(api, clinic)
    key = {"Idempotency-Key": str(uuid.uuid4())}

    with armed(lost_answers):
        first = api.call("POST", f"/patients/{pid}/notes", {"text": "Called, all well."}, as_=clinic["c1"], headers=key)
    again = api.call("POST", f"/patients/{pid}/notes", {"text": "Called, all well."}, as_=clinic["c1"], headers=key)
    other = api.call("POST", f"/patients/{pid}/notes", {"text": "Something else"}, as_=clinic["c1"], headers=key)

    assert first.status_code == 201, first.body
    assert again.status_code == 200 and body(again) == body(first)
    assert other.status_code == 409
    assert len(_events(pid, "note")) == 1
    assert len(_audit(pid, "create", "note")) == 1


def test_care_time_whose_answer_was_lost_adds_its_minutes_once(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    pid = _enrolled(api, clinic)
    at = (datetime.now(UTC) - timedelta(hours=1)).replace(microsecond=0).isoformat()
    sent = {"minutes": 12, "interactive": True, "activity": "call", "at": at}

    with armed(lost_answers):
        first = api.call("POST", f"/patients/{pid}/care-time", sent, as_=clinic["c1"])
    again = api.call("POST", f"/patients/{pid}/care-time", sent, as_=clinic["c1"])

    assert "TransactWriteItems" in lost_answers.faults
    assert first.status_code == 201, first.body
    assert again.status_code == 200 and body(again) == body(first)
    month = _items(f"PATIENT#{pid}", "RPM#")
    assert [m["care_minutes"] for m in month] == [12]


# -- readings and alerts ----------------------------------------------------------------------


def _glucose(value: float) -> dict[str, Any]:
    return {
        "reading_id": str(uuid.uuid4()),
        "type": "blood_glucose",
        "value": value,
        "unit": "mg/dL",
        "measured_at": (datetime.now(UTC) - timedelta(minutes=2)).isoformat(),
    }


def test_a_reading_whose_answer_was_lost_is_stored_once_and_answered_201(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    pid = _enrolled(api, clinic)
    sent = _glucose(131)

    with armed(lost_answers):
        first = api.call("POST", f"/patients/{pid}/readings", sent, as_=("patient", pid))
        batch = api.call("POST", f"/patients/{pid}/readings/batch", {"readings": [_glucose(120)]}, as_=("patient", pid))

    assert first.status_code == 201, first.body
    assert [r["status"] for r in body(batch)["results"]] == [201]
    assert len(_items(f"PATIENT#{pid}", "READING#")) == 2


def _critical_alert(api: Api, clinic: dict[str, Any], pid: str, lost: LandThenTimeOut | None = None) -> str:
    """A critical low posted by the patient, then handed to the alert rules as the stream would."""
    from chalicelib import bootstrap

    c = bootstrap.container()
    sent = _glucose(45)
    assert api.call("POST", f"/patients/{pid}/readings", sent, as_=("patient", pid)).status_code == 201
    stored = c.table.get(f"PATIENT#{pid}", f"READING#{sent['reading_id']}")
    if lost is None:
        c.alerts.on_reading(stored, c.patient_store.get(pid))
    else:
        with armed(lost):
            c.alerts.on_reading(stored, c.patient_store.get(pid))
    alerts = body(api.call("GET", f"/alerts?patient_id={pid}", as_=clinic["c1"]))["items"]
    assert [a["kind"] for a in alerts] == ["critical_low"]
    return str(alerts[0]["alert_id"])


def test_an_alert_opened_while_answers_were_lost_is_opened_once(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    pid = _enrolled(api, clinic)

    alert_id = _critical_alert(api, clinic, pid, lost_answers)

    assert "TransactWriteItems" in lost_answers.faults
    assert len(_items(f"PATIENT#{pid}", "ALERT#")) == 1
    assert len(_events(pid, "alert_opened")) == 1
    entries = _items("CLINICIAN#c-1", "ALERT#open#")
    assert sum(1 for e in entries if e["alert_id"] == alert_id) == 1


def test_an_acknowledgment_whose_answer_was_lost_answers_200_and_a_repeat_by_the_same_person_too(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    pid = _enrolled(api, clinic)
    alert_id = _critical_alert(api, clinic, pid)

    with armed(lost_answers):
        first = api.call("POST", f"/alerts/{alert_id}/acknowledge", {"note": "on it"}, as_=clinic["c1"])
    again = api.call("POST", f"/alerts/{alert_id}/acknowledge", {"note": "on it"}, as_=clinic["c1"])
    resolved = api.call("POST", f"/alerts/{alert_id}/resolve", {"note": "treated"}, as_=clinic["c1"])
    resolved_again = api.call("POST", f"/alerts/{alert_id}/resolve", {"note": "treated"}, as_=clinic["c1"])

    assert "TransactWriteItems" in lost_answers.faults
    assert first.status_code == 200, first.body
    assert again.status_code == 200 and body(again) == body(first)
    assert [n["text"] for n in body(first)["notes"]] == ["on it"]
    assert resolved.status_code == 200 and resolved_again.status_code == 200
    assert body(resolved_again) == body(resolved)
    assert len(_events(pid, "alert_acknowledged")) == 1
    assert len(_audit(pid, "acknowledge", "alert")) == 1


def test_the_hook_really_loses_answers(api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut) -> None:
    """The fault is real: without our retry-safe writes, the raw conditional put is refused by its own retry."""
    from botocore.exceptions import ClientError

    from chalicelib import bootstrap

    c = bootstrap.container()
    item = {"pk": {"S": f"TEST#{uuid.uuid4()}"}, "sk": {"S": "X"}}

    with armed(lost_answers), pytest.raises(ClientError) as refused:
        c.client("dynamodb").put_item(
            TableName=c.settings.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)"
        )

    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert json.dumps(lost_answers.faults) == '["PutItem"]'


# -- the minute tick ---------------------------------------------------------------------------


def _sqs_intents(template: str, patient_id: str) -> list[dict[str, Any]]:
    from chalicelib import bootstrap

    sqs = bootstrap.container().client("sqs")
    url = sqs.get_queue_url(QueueName="outbound")["QueueUrl"]
    found: list[dict[str, Any]] = []
    others: list[str] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            intent = json.loads(message["Body"])
            if intent["template"] == template and intent.get("patient_id") == patient_id:
                found.append(intent)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            else:
                others.append(message["ReceiptHandle"])
    for handle in others:  # other tests' messages go back on the queue at once
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    return found


def test_an_escalation_whose_answer_was_lost_still_pages(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    """A stale "someone else escalated first" would page nobody: the tick must see its own write."""
    from chalicelib import bootstrap
    from chalicelib.domain.timeutil import parse_iso

    c = bootstrap.container()
    pid = _enrolled(api, clinic)
    alert_id = _critical_alert(api, clinic, pid)
    item = c.table.get(f"PATIENT#{pid}", f"ALERT#{alert_id}")

    with armed(lost_answers):
        c.alerts.escalate_due(item, parse_iso(item["due_at"]))

    assert "TransactWriteItems" in lost_answers.faults
    assert c.table.get(f"PATIENT#{pid}", f"ALERT#{alert_id}")["escalation_level"] == 1
    assert len(_events(pid, "alert_escalated")) == 1


def test_a_reminder_fired_while_answers_were_lost_sends_once(
    api: Api, clinic: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    """A stale "another tick got here first" would send nothing: the tick must see its own write."""
    from chalicelib import bootstrap
    from chalicelib.domain.timeutil import parse_iso

    c = bootstrap.container()
    pid = _enrolled(api, clinic)
    api.call(
        "POST",
        f"/patients/{pid}/reminders",
        {"reminder_id": "med", "kind": "medication", "times": ["08:00"]},
        as_=("patient", pid),
    )
    item = c.table.get(f"PATIENT#{pid}", "REMINDER#med")

    with armed(lost_answers):
        c.reminders.fire(item, parse_iso(item["due_at"]))

    assert {"UpdateItem", "PutItem"} <= set(lost_answers.faults)
    assert len(_items(f"PATIENT#{pid}", "DOSE#")) == 1
    assert len(_events(pid, "reminder_sent")) == 1
    assert len(_sqs_intents("reminder_medication", pid)) == 1


def test_repeating_a_reminder_patch_acknowledgment_or_delete_answers_the_same(api: Api, clinic: dict[str, Any]) -> None:
    from chalicelib import bootstrap
    from chalicelib.domain.timeutil import parse_iso

    c = bootstrap.container()
    pid = _enrolled(api, clinic)
    me = ("patient", pid)
    api.call(
        "POST", f"/patients/{pid}/reminders", {"reminder_id": "med", "kind": "medication", "times": ["08:00"]}, as_=me
    )
    item = c.table.get(f"PATIENT#{pid}", "REMINDER#med")
    c.reminders.fire(item, parse_iso(item["due_at"]))
    taken_at = {"at": item["due_at"]}

    patched = [api.call("PATCH", f"/patients/{pid}/reminders/med", {"label": "evening"}, as_=me) for _ in range(2)]
    acked = [api.call("POST", f"/patients/{pid}/reminders/med/acknowledge", taken_at, as_=me) for _ in range(2)]
    deleted = [api.call("DELETE", f"/patients/{pid}/reminders/med", as_=me) for _ in range(2)]

    assert [r.status_code for r in patched] == [200, 200] and body(patched[0]) == body(patched[1])
    assert [r.status_code for r in acked] == [200, 200] and body(acked[0]) == body(acked[1])
    assert [r.status_code for r in deleted] == [200, 200] and body(deleted[0]) == body(deleted[1])
    assert api.call("GET", f"/patients/{pid}/reminders/med", as_=me).status_code == 404
    assert body(api.call("GET", f"/patients/{pid}/reminders", as_=me)) == []
    assert len(_events(pid, "reminder_done")) == 1
