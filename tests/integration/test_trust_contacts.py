"""docs/api.md "Trust rules" against the emulators: contact changes are verified, SMS stays in the allowed countries,
and sending is bounded (security review F2, F3).

Codes are read back from what moto's SNS and SES received, as the person holding
the phone or mailbox would read them; everything else through the API or the
stored items.  Deliveries run through the container's messaging engine, as the
outbound queue's Lambda runs them (``stream_runner.drain()``).
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Api, body, patient_body
from tests.integration.test_retry_safety import LandThenTimeOut, armed

PREMIUM = "+88213000001"  # an international premium-type range (F3's reproduction)
_CODE = re.compile(r"\b([0-9]{6})\b")


def _phone() -> str:
    return f"+1555{uuid.uuid4().int % 10**7:07d}"


def _moto() -> dict[str, Any]:
    with urllib.request.urlopen(f"{os.environ['AWS_ENDPOINT_URL']}/moto-api/data.json") as response:
        return dict(json.loads(response.read()))


def _sms_to(phone: str) -> list[str]:
    return [s["message"] for s in _moto()["sns"].get("SMS", []) if s["phone_number"] == phone]


def _emails_to(address: str) -> list[str]:
    return [m["body"] for m in _moto()["ses"].get("Message", []) if address in m["destinations"]["ToAddresses"]]


def _code(texts: list[str]) -> str:
    codes = [m.group(1) for t in texts if (m := _CODE.search(t))]
    assert codes, texts
    return codes[-1]


def _items(pk: str, prefix: str) -> list[dict[str, Any]]:
    from chalicelib import bootstrap

    table = bootstrap.container().table
    return table.query_all("pk = :p AND begins_with(sk, :s)", {":p": pk, ":s": prefix}, consistent=True)


def _audit(pid: str, resource: str) -> list[dict[str, Any]]:
    from chalicelib import bootstrap

    entries = bootstrap.container().audit_table.query_all("pk = :p", {":p": f"PATIENT#{pid}"}, consistent=True)
    return [e for e in entries if e["resource"] == resource]


@pytest.fixture
def lost_answers() -> Iterator[LandThenTimeOut]:
    """Each DynamoDB write lands and its answer is lost, so botocore retries it (see test_retry_safety)."""
    from chalicelib import bootstrap

    client = bootstrap.container().client("dynamodb")
    hook = LandThenTimeOut(client)
    yield hook
    client.meta.events.unregister("before-send.dynamodb", hook)


@pytest.fixture
def enrolled(api: Api, clinic: dict[str, Any]) -> dict[str, Any]:
    """A patient on c-1's team reachable by SMS only, consent granted, no quiet hours."""
    pid, phone = f"p-tr-{uuid.uuid4().hex[:8]}", _phone()
    sent = patient_body(
        pid,
        phone=phone,
        email=f"{pid}@example.org",
        language="en",
        timezone="UTC",
        channels=["sms"],
        care_team=["c-1"],
        quiet_hours={"start": "00:00", "end": "00:00"},
    )
    assert api.call("POST", "/patients", sent, as_=clinic["c1"]).status_code == 201
    assert api.call("PUT", f"/patients/{pid}/consents/sms", {"granted": True}, as_=("patient", pid)).status_code == 200
    return {"pid": pid, "phone": phone, "me": ("patient", pid), "email": f"{pid}@example.org"}


def _change_phone(api: Api, stream_runner: Any, patient: dict[str, Any], phone: str) -> Any:
    response = api.call("PATCH", f"/patients/{patient['pid']}", {"phone": phone}, as_=patient["me"])
    stream_runner.drain()
    return response


def _verify(api: Api, patient: dict[str, Any], code: str, channel: str = "sms", as_: Any = None) -> Any:
    sent = {"channel": channel, "code": code}
    return api.call("POST", f"/patients/{patient['pid']}/contact-verification", sent, as_=as_ or patient["me"])


# -- contact changes are verified (F2, F3) ----------------------------------------------------------


def test_f2_a_phone_the_patient_changes_is_held_as_pending_and_a_code_is_texted_to_it(
    api: Api, stream_runner: Any, enrolled: dict[str, Any]
) -> None:
    new = _phone()

    response = _change_phone(api, stream_runner, enrolled, new)

    assert response.status_code == 200, response.body
    assert (body(response)["phone"], body(response)["phone_pending"]) == (enrolled["phone"], new)
    (text,) = _sms_to(new)
    assert "Carewire Clinic" in text and "valid 10 minutes" in text and _CODE.search(text)
    assert _items(f"PHONE#{new}", "PATIENT#") == []  # inbound SMS from it reaches nobody yet
    (challenge,) = _items(f"PATIENT#{enrolled['pid']}", "VERIFY#")
    assert _code([text]) not in json.dumps(challenge) and challenge["salt"] and challenge["code_hash"]


def test_f2_the_right_code_makes_the_pending_phone_current_and_moves_the_inbound_lookup(
    api: Api, stream_runner: Any, enrolled: dict[str, Any]
) -> None:
    new = _phone()
    _change_phone(api, stream_runner, enrolled, new)
    code = _code(_sms_to(new))

    verified = _verify(api, enrolled, code)
    again = _verify(api, enrolled, code)  # a retry whose first answer was lost

    assert verified.status_code == 200, verified.body
    assert (body(verified)["phone"], body(verified)["phone_pending"]) == (new, None)
    assert again.status_code == 200 and body(again) == body(verified)
    assert [i["patient_id"] for i in _items(f"PHONE#{new}", "PATIENT#")] == [enrolled["pid"]]
    assert _items(f"PHONE#{enrolled['phone']}", "PATIENT#") == []
    assert any((e.get("detail") or {}).get("verified") for e in _audit(enrolled["pid"], "patient"))


def test_f2_a_wrong_code_is_422_naming_code_and_five_wrong_tries_use_the_code_up(
    api: Api, stream_runner: Any, enrolled: dict[str, Any]
) -> None:
    new = _phone()
    _change_phone(api, stream_runner, enrolled, new)
    code = _code(_sms_to(new))
    wrong = f"{(int(code) + 1) % 10**6:06d}"

    answers = [_verify(api, enrolled, wrong) for _ in range(5)]
    after = _verify(api, enrolled, code)

    assert [a.status_code for a in answers] == [422] * 5
    assert [body(a)["errors"][0]["field"] for a in answers] == ["code"] * 5
    assert "4 tries left" in body(answers[0])["errors"][0]["message"]
    assert "no tries left" in body(answers[4])["errors"][0]["message"]
    assert after.status_code == 409 and "Too many wrong codes" in body(after)["detail"]
    patient = body(api.call("GET", f"/patients/{enrolled['pid']}", as_=enrolled["me"]))
    assert (patient["phone"], patient["phone_pending"]) == (enrolled["phone"], new)


def test_f2_an_expired_code_is_409_and_changing_the_phone_again_sends_a_new_one(
    api: Api, stream_runner: Any, enrolled: dict[str, Any]
) -> None:
    from chalicelib import bootstrap
    from chalicelib.adapters.contacts import DynamoContactStore
    from chalicelib.domain.contacts import ContactVerificationIn
    from chalicelib.domain.errors import ConflictError
    from chalicelib.domain.identity import Principal, Role
    from chalicelib.services.contacts import ContactVerificationService

    c = bootstrap.container()
    new = _phone()
    _change_phone(api, stream_runner, enrolled, new)
    code = _code(_sms_to(new))
    later = datetime.now(UTC) + timedelta(minutes=10, seconds=1)
    eleven_minutes_on = ContactVerificationService(
        c.patient_store, DynamoContactStore(c.table), c.messaging, c.audit, lambda: later, c.settings.sms_countries
    )

    with pytest.raises(ConflictError, match="expired"):
        eleven_minutes_on.verify(
            Principal(enrolled["pid"], Role.PATIENT), enrolled["pid"], ContactVerificationIn(channel="sms", code=code)
        )
    c.table.client.update_item(  # the code was sent over a minute ago
        TableName=c.table.name,
        Key={"pk": {"S": f"PATIENT#{enrolled['pid']}"}, "sk": {"S": "VERIFY#sms"}},
        UpdateExpression="SET created_at = :old",
        ExpressionAttributeValues={":old": {"S": "2000-01-01T00:00:00.000Z"}},
    )
    _change_phone(api, stream_runner, enrolled, new)
    fresh = _code(_sms_to(new))

    assert len(_sms_to(new)) == 2
    assert _verify(api, enrolled, fresh).status_code == 200


def test_f2_a_repeated_phone_change_within_a_minute_sends_no_second_code(
    api: Api, stream_runner: Any, enrolled: dict[str, Any]
) -> None:
    new = _phone()

    first = _change_phone(api, stream_runner, enrolled, new)
    second = _change_phone(api, stream_runner, enrolled, new)

    assert first.status_code == second.status_code == 200 and body(first) == body(second)
    assert len(_sms_to(new)) == 1


def test_f2_nothing_is_sent_to_a_pending_phone_until_it_is_verified(
    api: Api, stream_runner: Any, enrolled: dict[str, Any], clinic: dict[str, Any]
) -> None:
    new = _phone()
    _change_phone(api, stream_runner, enrolled, new)

    api.call("POST", f"/patients/{enrolled['pid']}/messages", {"text": "Please call us."}, as_=clinic["c1"])
    stream_runner.drain()

    assert len(_sms_to(new)) == 1  # the code only
    assert any("new message from your care team" in t for t in _sms_to(enrolled["phone"]))


def test_f2_a_staff_change_of_phone_applies_at_once_supersedes_a_pending_one_and_is_audited(
    api: Api, stream_runner: Any, enrolled: dict[str, Any], clinic: dict[str, Any]
) -> None:
    pending, in_clinic = _phone(), _phone()
    _change_phone(api, stream_runner, enrolled, pending)
    code = _code(_sms_to(pending))

    changed = api.call("PATCH", f"/patients/{enrolled['pid']}", {"phone": in_clinic}, as_=clinic["c1"])
    late = _verify(api, enrolled, code)

    assert changed.status_code == 200, changed.body
    assert (body(changed)["phone"], body(changed)["phone_pending"]) == (in_clinic, None)
    assert [i["patient_id"] for i in _items(f"PHONE#{in_clinic}", "PATIENT#")] == [enrolled["pid"]]
    assert late.status_code == 409
    staff = [e for e in _audit(enrolled["pid"], "patient") if e["actor"] == "c-1" and e["action"] == "update"]
    assert any("phone" in (e.get("detail") or {}).get("fields", []) for e in staff)


def test_f2_an_email_the_patient_changes_is_verified_by_a_code_emailed_to_it(
    api: Api, stream_runner: Any, enrolled: dict[str, Any]
) -> None:
    new = f"new-{uuid.uuid4().hex[:8]}@example.org"

    held = api.call("PATCH", f"/patients/{enrolled['pid']}", {"email": new}, as_=enrolled["me"])
    stream_runner.drain()
    (mail,) = _emails_to(new)
    verified = _verify(api, enrolled, _code([mail]), channel="email")

    assert (body(held)["email"], body(held)["email_pending"]) == (enrolled["email"], new)
    assert "Carewire Clinic" in mail and "10" in mail
    assert verified.status_code == 200 and body(verified)["email"] == new and body(verified)["email_pending"] is None


def test_f2_only_the_patient_verifies_a_contact_change(
    api: Api, stream_runner: Any, enrolled: dict[str, Any], clinic: dict[str, Any]
) -> None:
    new = _phone()
    _change_phone(api, stream_runner, enrolled, new)
    code = _code(_sms_to(new))

    by_care_team = _verify(api, enrolled, code, as_=clinic["c1"])
    by_another_patient = _verify(api, enrolled, code, as_=("patient", "p-1"))

    assert (by_care_team.status_code, by_another_patient.status_code) == (403, 404)


def test_f2_a_contact_verification_whose_answer_was_lost_is_applied_once(
    api: Api, stream_runner: Any, enrolled: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    new = _phone()
    _change_phone(api, stream_runner, enrolled, new)
    code = _code(_sms_to(new))

    with armed(lost_answers):
        response = _verify(api, enrolled, code)

    assert "TransactWriteItems" in lost_answers.faults
    assert response.status_code == 200, response.body
    assert body(response)["phone"] == new


# -- SMS goes only to the allowed country calling codes ---------------------------------------------


def test_f3_a_plus_882_number_is_refused_at_enrolment_patch_and_clinician_registration(
    api: Api, clinic: dict[str, Any], enrolled: dict[str, Any]
) -> None:
    enrol = api.call("POST", "/patients", patient_body(None, phone=PREMIUM, care_team=["c-1"]), as_=clinic["c1"])
    by_patient = api.call("PATCH", f"/patients/{enrolled['pid']}", {"phone": PREMIUM}, as_=enrolled["me"])
    by_staff = api.call("PATCH", f"/patients/{enrolled['pid']}", {"phone": PREMIUM}, as_=clinic["c1"])
    clinician = api.call("PUT", "/clinicians/c-abroad", {"given_name": "Ana", "phone": PREMIUM}, as_=clinic["admin"])

    for refused in (enrol, by_patient, by_staff, clinician):
        assert refused.status_code == 422, refused.body
        assert body(refused)["errors"][0]["field"] == "phone" and "+1" in body(refused)["errors"][0]["message"]
    assert _sms_to(PREMIUM) == []


def test_f3_the_messaging_engine_refuses_to_text_a_stored_number_outside_the_allowed_countries(
    stream_runner: Any, enrolled: dict[str, Any]
) -> None:
    from chalicelib import bootstrap
    from chalicelib.domain.messages import Intent, Recipient

    c = bootstrap.container()
    pid = enrolled["pid"]
    c.table.client.update_item(  # a number stored before the allow-list existed
        TableName=c.table.name,
        Key={"pk": {"S": f"PATIENT#{pid}"}, "sk": {"S": "PROFILE"}},
        UpdateExpression="SET phone = :p",
        ExpressionAttributeValues={":p": {"S": PREMIUM}},
    )
    intent = Intent(
        intent_id=f"test:{uuid.uuid4()}",
        recipient=Recipient(kind="patient", id=pid),
        template="clinician_message_patient",
        created_at=datetime.now(UTC),
        patient_id=pid,
    )

    outcome = c.messaging.deliver(intent)

    assert outcome == "failed"
    assert _sms_to(PREMIUM) == []
    refused = [e for e in _items(f"PATIENT#{pid}", "EVENT#") if e["kind"] == "delivery_failed"]
    assert [e["summary"] for e in refused] == ["sms refused: country not allowed"]


# -- sending is bounded (F3) ----------------------------------------------------------------------------


def test_f3_a_21st_reminder_is_422_naming_reminder_id_and_deleted_ones_do_not_count(
    api: Api, enrolled: dict[str, Any]
) -> None:
    pid, me = enrolled["pid"], enrolled["me"]

    def create(rid: str) -> Any:
        sent = {"reminder_id": rid, "kind": "measure_glucose", "times": ["08:00"]}
        return api.call("POST", f"/patients/{pid}/reminders", sent, as_=me)

    created = [create(f"r{n}") for n in range(20)]
    over = create("r20")
    replay = create("r19")
    api.call("DELETE", f"/patients/{pid}/reminders/r0", as_=me)
    after_delete = create("r20")

    assert [r.status_code for r in created] == [201] * 20
    assert over.status_code == 422, over.body
    assert body(over)["errors"][0]["field"] == "reminder_id" and "20" in body(over)["detail"]
    assert replay.status_code == 200
    assert after_delete.status_code == 201


def test_f3_the_21st_routine_message_of_a_day_is_held_and_the_worklist_counts_it(
    api: Api, stream_runner: Any, enrolled: dict[str, Any], clinic: dict[str, Any]
) -> None:
    pid = enrolled["pid"]
    sent = [api.call("POST", f"/patients/{pid}/messages", {"text": f"Note {n}"}, as_=clinic["c1"]) for n in range(21)]
    stream_runner.drain()

    assert {s.status_code for s in sent} == {202}
    assert len(_sms_to(enrolled["phone"])) == 20
    held = [e for e in _items(f"PATIENT#{pid}", "EVENT#") if e["kind"] == "delivery_failed"]
    assert [e["summary"] for e in held] == ["held: daily limit"]
    statuses = [m["status"] for m in body(api.call("GET", f"/patients/{pid}/messages", as_=enrolled["me"]))["items"]]
    assert sorted(statuses) == ["held"] + ["sent"] * 20
    rows = body(api.call("GET", "/worklist", as_=clinic["c1"]))["items"]
    assert next(r for r in rows if r["patient_id"] == pid)["held_messages_today"] == 1


def test_f3_safety_messages_are_not_held_by_the_daily_cap(stream_runner: Any, enrolled: dict[str, Any]) -> None:
    from chalicelib import bootstrap
    from chalicelib.domain.messages import Intent, Recipient

    c = bootstrap.container()
    pid = enrolled["pid"]

    def intent(priority: str, template: str) -> Intent:
        return Intent(
            intent_id=f"test:{uuid.uuid4()}",
            recipient=Recipient(kind="patient", id=pid),
            template=template,
            params={"condition": "glucose_low", "guidance": "-"},
            priority=priority,  # type: ignore[arg-type]
            created_at=datetime.now(UTC),
            patient_id=pid,
        )

    routine = [c.messaging.deliver(intent("routine", "missed_readings_nudge")) for _ in range(21)]
    safety = c.messaging.deliver(intent("safety", "safety_glucose_low"))

    assert routine == ["sent"] * 20 + ["held"]
    assert safety == "sent"
    assert any("fast sugar" in t for t in _sms_to(enrolled["phone"]))


def test_f3_a_redelivered_or_retried_intent_takes_one_slot_of_the_day(
    enrolled: dict[str, Any], lost_answers: LandThenTimeOut
) -> None:
    from chalicelib import bootstrap

    store = bootstrap.container().messaging_store
    pid, day, expires = enrolled["pid"], "2026-12-03", int(datetime.now(UTC).timestamp()) + 3600

    with armed(lost_answers):
        first = store.take_daily_slot(pid, day, "i-1", 20, expires)
    again = store.take_daily_slot(pid, day, "i-1", 20, expires)  # an SQS redelivery of the same intent

    (counter,) = _items(f"PATIENT#{pid}", f"SENDS#{day}")
    assert "UpdateItem" in lost_answers.faults
    assert first and again and counter["sent"] == 1


# -- no patient-typed text in outbound SMS or email ----------------------------------------------------


@pytest.mark.parametrize(("author", "shown"), [("patient", False), ("clinician", True)])
def test_f3_a_reminder_label_reaches_the_sms_only_when_the_care_team_wrote_it(
    api: Api, stream_runner: Any, enrolled: dict[str, Any], clinic: dict[str, Any], author: str, shown: bool
) -> None:
    from chalicelib import bootstrap
    from chalicelib.domain.timeutil import parse_iso

    c = bootstrap.container()
    pid = enrolled["pid"]
    api.call("PUT", f"/patients/{pid}/consents/sms", {"granted": True, "full_content": True}, as_=enrolled["me"])
    label = "ACCOUNT LOCKED. Verify now: https://evil.example/x" if author == "patient" else "Metformin 500 mg"
    writer = enrolled["me"] if author == "patient" else clinic["c1"]
    sent = {"reminder_id": "custom", "kind": "custom", "times": ["08:00"], "label": label}
    created = api.call("POST", f"/patients/{pid}/reminders", sent, as_=writer)

    item = c.reminders._store.get(pid, "custom")
    c.reminders.fire(item, parse_iso(item["due_at"]))
    stream_runner.drain()

    assert body(created)["label_by"] == ("patient" if author == "patient" else "staff")
    (text,) = _sms_to(enrolled["phone"])
    assert (label in text) is shown
    assert "evil.example" not in text
