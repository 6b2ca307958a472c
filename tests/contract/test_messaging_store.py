"""The contract of the messaging store's ports, on ``FakeMessagingStore`` and on ``DynamoMessagingStore``.

``DeliveryClaims`` (a second claim of an intent is refused until it is settled for
a retry; a lapsed claim is uncertain, and claimed again only for safety; a deferred
message is released once), ``SendCounters`` (the daily cap counts each intent once;
holds too), ``ContactItems`` (consents and the patients sharing a phone) and ``Tasks``
(created once per task id).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.messages import Intent, Recipient
from chalicelib.domain.timeutil import iso
from chalicelib.services.ports import DailySlot, Sent, TimelineEntry
from tests.contract.conftest import BACKENDS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=50)
EXPIRES = int((T0 + timedelta(days=2)).timestamp())


@dataclass
class Messaging:
    store: Any
    patients: Any  # get, put_consent
    add_patient: Callable[[dict[str, Any]], None]
    deferred_item: Callable[[str], dict[str, Any]]  # what the due index hands the tick
    task: Callable[[str, str], dict[str, Any] | None]
    events: Callable[[str], list[tuple[str, str]]]  # a patient's timeline: (kind, summary), oldest first
    message: Callable[[str, str, str], dict[str, Any] | None]  # (pid, at, message_id): a conversation message


@pytest.fixture(params=BACKENDS)
def messaging(request: pytest.FixtureRequest) -> Messaging:
    if request.param == "fake":
        from tests.fakes import FakeMessagingStore, _copy

        fake = FakeMessagingStore()

        def task(pid: str, task_id: str) -> dict[str, Any] | None:
            return next((t for t in fake.tasks_of(pid) if t["task_id"] == task_id), None)

        def fake_message(pid: str, at: str, message_id: str) -> dict[str, Any] | None:
            return _copy(fake.messages.get((pid, at, message_id)))

        return Messaging(
            fake,
            fake.patients,
            fake.patients.put,
            lambda iid: dict(fake.deferred[iid]),
            task,
            lambda pid: [(e["kind"], e["summary"]) for e in fake.timeline.of(pid)],
            fake_message,
        )
    from chalicelib.adapters.messaging import DynamoMessagingStore
    from chalicelib.adapters.stores import DynamoPatientStore, patient_pk

    table = request.getfixturevalue("dynamo_table")
    store, patients = DynamoMessagingStore(table), DynamoPatientStore(table)

    def add_patient(record: dict[str, Any]) -> None:
        assert patients.create(record) is None

    def deferred_item(intent_id: str) -> dict[str, Any]:
        found: dict[str, Any] = table.get(f"MSG#{intent_id}", "DEFERRED")
        return found

    def dynamo_task(pid: str, task_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = table.get(patient_pk(pid), f"TASK#{task_id}")
        return found

    def dynamo_events(pid: str) -> list[tuple[str, str]]:
        page = table.query("pk = :p AND begins_with(sk, :e)", {":p": patient_pk(pid), ":e": "EVENT#"})
        return [(e["kind"], e["summary"]) for e in page.items]

    def dynamo_message(pid: str, at: str, message_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = table.get(patient_pk(pid), f"MSG#{at}#{message_id}")
        return found

    return Messaging(store, patients, add_patient, deferred_item, dynamo_task, dynamo_events, dynamo_message)


def intent(intent_id: str, pid: str) -> Intent:
    return Intent(
        intent_id=intent_id,
        recipient=Recipient(kind="patient", id=pid),
        template="reminder_measure",
        created_at=T0,
        patient_id=pid,
    )


def patient(pid: str, phone: str | None = None) -> dict[str, Any]:
    record = {"patient_id": pid, "care_team": [], "timezone": "UTC", "language": "en", "updated_at": iso(T0)}
    return {**record, "phone": phone} if phone else record


# -- claims ------------------------------------------------------------------------------------------


def test_a_second_claim_of_the_same_intent_is_refused(messaging: Messaging, ids: Callable[[str], str]) -> None:
    iid = ids("i")
    assert messaging.store.claim(iid, T0, LEASE, False) == "claimed"
    assert messaging.store.claim(iid, T0 + timedelta(seconds=1), LEASE, False) == "busy"
    messaging.store.settle(iid, "sent", {"channel": "sms"})
    assert messaging.store.claim(iid, T0 + timedelta(minutes=5), LEASE, True) == "sent"


def test_a_claim_settled_for_a_retry_may_be_claimed_again(messaging: Messaging, ids: Callable[[str], str]) -> None:
    iid = ids("i")
    assert messaging.store.claim(iid, T0, LEASE, False) == "claimed"
    messaging.store.settle(iid, "retry")
    assert messaging.store.claim(iid, T0 + timedelta(seconds=1), LEASE, False) == "claimed"
    assert messaging.store.claim(iid, T0 + timedelta(seconds=2), LEASE, False) == "busy"


def test_a_lapsed_claim_is_uncertain_and_claimed_again_only_for_safety(
    messaging: Messaging, ids: Callable[[str], str]
) -> None:
    routine, safety = ids("r"), ids("s")
    for iid, is_safety in ((routine, False), (safety, True)):
        assert messaging.store.claim(iid, T0, LEASE, is_safety) == "claimed"
    later = T0 + timedelta(minutes=2)
    assert messaging.store.claim(routine, later, LEASE, False) == "uncertain"
    assert messaging.store.claim(safety, later, LEASE, True) == "claimed"
    assert messaging.store.claim(safety, later, LEASE, True) == "busy"


# -- deferral ----------------------------------------------------------------------------------------


def test_a_deferred_message_is_claimable_and_taken_once(messaging: Messaging, ids: Callable[[str], str]) -> None:
    pid, iid = ids("p"), ids("i")
    assert messaging.store.claim(iid, T0, LEASE, False) == "claimed"
    messaging.store.defer(intent(iid, pid), T0 + timedelta(hours=8))
    messaging.store.settle(iid, "deferred", {"until": iso(T0 + timedelta(hours=8))})
    item = messaging.deferred_item(iid)
    assert item["due_at"] == iso(T0 + timedelta(hours=8))
    taken = messaging.store.take_deferred(item)
    assert taken is not None and taken.intent_id == iid and taken.recipient.id == pid
    assert messaging.store.take_deferred(item) is None  # a second tick wins nothing
    assert messaging.store.claim(iid, T0 + timedelta(hours=8), LEASE, False) == "claimed"


# -- the daily cap and counters ---------------------------------------------------------------------


def test_a_claim_with_a_slot_takes_both_or_answers_as_each_would_apart(
    messaging: Messaging, ids: Callable[[str], str]
) -> None:
    pid, day = ids("p"), "2026-03-02"
    slot = DailySlot(pid, day, 2, EXPIRES)
    a, b, c = ids("a"), ids("b"), ids("c")
    assert messaging.store.claim_with_slot(a, T0, LEASE, slot) == ("claimed", True)
    assert messaging.store.claim_with_slot(a, T0, LEASE, slot) == ("busy", False)  # a duplicate delivery
    messaging.store.settle(a, "retry")
    assert messaging.store.claim_with_slot(a, T0, LEASE, slot) == ("claimed", True)  # its own slot again
    assert messaging.store.claim_with_slot(b, T0, LEASE, slot) == ("claimed", True)
    assert messaging.store.claim_with_slot(c, T0, LEASE, slot) == ("claimed", False)  # the day is full
    assert messaging.store.take_daily_slot(pid, day, c, 2, EXPIRES) is False  # and c took nothing
    assert messaging.store.claim(c, T0 + timedelta(seconds=1), LEASE, False) == "busy"  # but c is claimed


def test_a_message_sent_settles_counts_marks_and_lands_on_the_timeline(
    messaging: Messaging, ids: Callable[[str], str]
) -> None:
    pid, iid, mid = ids("p"), ids("i"), ids("m")
    messaging.add_patient(patient(pid))
    messaging.store.put_message(pid, {"message_id": mid, "at": iso(T0), "status": "queued", "text": "hello"})
    assert messaging.store.claim(iid, T0, LEASE, False) == "claimed"
    event = TimelineEntry(pid, "message_out", T0, f"{iid}:out", "Clinician message sent by sms", "sms", {})

    sent = Sent(iid, {"channel": "sms", "provider_id": "x-1"}, event, (pid, "sms", T0), (pid, iso(T0), mid, "sms"))
    messaging.store.record_sent(sent)

    assert messaging.store.claim(iid, T0 + timedelta(minutes=1), LEASE, True) == "sent"
    assert messaging.patients.get(pid)["channel_stats"]["sms"]["sent"] == 1
    stored = messaging.message(pid, iso(T0), mid)
    assert stored is not None and (stored["status"], stored["channel"]) == ("sent", "sms")
    assert messaging.events(pid) == [("message_out", "Clinician message sent by sms")]


def test_a_message_sent_whose_conversation_message_is_gone_still_settles_and_counts(
    messaging: Messaging, ids: Callable[[str], str]
) -> None:
    pid, iid = ids("p"), ids("i")
    messaging.add_patient(patient(pid))
    assert messaging.store.claim(iid, T0, LEASE, False) == "claimed"
    event = TimelineEntry(pid, "message_out", T0, f"{iid}:out", "Reminder sent by push", "push", {})

    messaging.store.record_sent(
        Sent(iid, {"channel": "push"}, event, (pid, "push", T0), (pid, iso(T0), "gone", "push"))
    )

    assert messaging.store.claim(iid, T0 + timedelta(minutes=1), LEASE, True) == "sent"
    assert messaging.patients.get(pid)["channel_stats"]["push"]["sent"] == 1
    assert messaging.message(pid, iso(T0), "gone") is None
    assert messaging.events(pid) == [("message_out", "Reminder sent by push")]


def test_the_daily_cap_counts_each_intent_once(messaging: Messaging, ids: Callable[[str], str]) -> None:
    pid, day = ids("p"), "2026-03-02"
    take = messaging.store.take_daily_slot
    assert take(pid, day, "a", 2, EXPIRES) is True
    assert take(pid, day, "a", 2, EXPIRES) is True  # the same intent again: its own slot
    assert take(pid, day, "b", 2, EXPIRES) is True
    assert take(pid, day, "c", 2, EXPIRES) is False
    assert take(pid, "2026-03-03", "c", 2, EXPIRES) is True  # another day
    assert messaging.store.hold(pid, day, "c", EXPIRES) is True  # the day's first hold
    assert messaging.store.hold(pid, day, "c", EXPIRES) is False
    assert messaging.store.hold(pid, day, "d", EXPIRES) is False
    assert messaging.store.held_on({pid: day}) == {pid: 2}


def test_sends_and_answers_are_counted_on_the_profile(messaging: Messaging, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    messaging.add_patient(patient(pid))
    messaging.store.count_send(pid, "sms", T0)
    messaging.store.count_send(pid, "sms", T0 + timedelta(minutes=1))
    since = iso(T0)
    messaging.store.count_answer(pid, "sms", T0 + timedelta(minutes=5), since)
    messaging.store.count_answer(pid, "sms", T0 + timedelta(minutes=6), since)  # that send is already answered
    messaging.store.count_answer(pid, "email", T0 + timedelta(minutes=6), since)  # nothing sent there
    stats = messaging.patients.get(pid)["channel_stats"]
    assert stats["sms"]["sent"] == 2 and stats["sms"]["last_sent_at"] == iso(T0 + timedelta(minutes=1))
    assert stats["sms"]["answered"] == 1 and stats["sms"]["answered_at"] == iso(T0 + timedelta(minutes=5))
    assert not stats["email"].get("answered")


# -- contact items and tasks --------------------------------------------------------------------------


def test_consents_read_back_as_contact_items(messaging: Messaging, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    messaging.add_patient(patient(pid))
    messaging.patients.put_consent(pid, {"channel": "sms", "granted": False, "opted_out": True})
    messaging.patients.put_consent(pid, {"channel": "email", "granted": True})
    items = messaging.store.contact_items(pid)
    assert [(i["sk"], i["channel"], i["granted"]) for i in items] == [
        ("CONSENT#email", "email", True),
        ("CONSENT#sms", "sms", False),
    ]


def test_the_patients_sharing_a_phone_are_found_by_it(messaging: Messaging, ids: Callable[[str], str]) -> None:
    phone = f"+1555{random.randrange(10**7):07d}"
    a, b = ids("a"), ids("b")
    messaging.add_patient(patient(a, phone))
    messaging.add_patient(patient(b, phone))
    assert sorted(messaging.store.patients_by_phone(phone)) == [a, b]
    assert messaging.store.patients_by_phone(phone + "9") == []


def test_a_task_is_created_once_per_task_id(messaging: Messaging, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    task = {"task_id": "call-1", "kind": "call_patient", "status": "open", "reason": "r", "tried": ["sms"]}
    assert messaging.store.put_task(pid, task) is True
    assert messaging.store.put_task(pid, {**task, "reason": "again"}) is False
    assert messaging.store.put_task(pid, {**task, "task_id": "call-2"}) is True
    stored = messaging.task(pid, "call-1")
    assert stored is not None and stored["reason"] == "r" and stored["tried"] == ["sms"]
