"""The contract of the ``Receipts`` port, on ``FakeReceipts`` and on ``DynamoReceipts`` (DynamoDB Local).

A send's receipt is written with the send (``record_sent``); a provider's event raises its status
only upward, taking the conversation message and the timeline entry along, marking an address and
adding a failure's timeline entry in the same write; the same status again writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.delivery import Status
from chalicelib.domain.messages import Intent, Recipient
from chalicelib.domain.timeutil import iso
from chalicelib.services.ports import Mark, Receipt, Sent, TimelineEntry
from tests.contract.conftest import BACKENDS

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class World:
    messaging: Any  # record_sent, claim, put_message
    receipts: Any
    add_patient: Callable[[dict[str, Any]], None]
    profile: Callable[[str], dict[str, Any]]
    add_device: Callable[[str, str], None]
    devices: Callable[[str], list[str]]
    events: Callable[[str], list[dict[str, Any]]]  # a patient's timeline items, oldest first
    message: Callable[[str, str, str], dict[str, Any] | None]


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest) -> World:
    if request.param == "fake":
        from tests.fakes import FakeClinicians, FakeMessagingStore, FakeReceipts, _copy

        store = FakeMessagingStore()
        receipts = FakeReceipts(store, FakeClinicians())
        return World(
            store,
            receipts,
            store.patients.put,
            lambda pid: store.patients.get(pid) or {},
            lambda pid, arn: store.patients.put_device(pid, {"endpoint_arn": arn, "created_at": iso(T0)}, arn),
            lambda pid: [i["endpoint_arn"] for sk, i in store.patients.contact.get(pid, {}).items() if "DEVICE#" in sk],
            store.timeline.of,
            lambda pid, at, mid: _copy(store.messages.get((pid, at, mid))),
        )
    from chalicelib.adapters.messaging import DynamoMessagingStore
    from chalicelib.adapters.receipts import DynamoReceipts
    from chalicelib.adapters.stores import DynamoPatientStore, patient_pk

    table = request.getfixturevalue("dynamo_table")
    patients = DynamoPatientStore(table)

    def add_patient(record: dict[str, Any]) -> None:
        assert patients.create(record) is None

    def devices(pid: str) -> list[str]:
        return [d["endpoint_arn"] for d in patients.devices(pid)]

    def events(pid: str) -> list[dict[str, Any]]:
        return table.query("pk = :p AND begins_with(sk, :e)", {":p": patient_pk(pid), ":e": "EVENT#"}).items

    return World(
        DynamoMessagingStore(table),
        DynamoReceipts(table),
        add_patient,
        lambda pid: patients.get(pid) or {},
        lambda pid, arn: patients.put_device(pid, {"endpoint_arn": arn, "created_at": iso(T0)}, arn),
        devices,
        events,
        lambda pid, at, mid: table.get(patient_pk(pid), f"MSG#{at}#{mid}"),
    )


def send(world: World, ids: Callable[[str], str], channel: str = "email", to: str = "ana@example.org") -> dict:
    """A patient with a conversation message that went out on ``channel``: its receipt."""
    pid, iid, mid, provider = ids("p"), ids("i"), ids("m"), ids("prov")
    world.add_patient(
        {"patient_id": pid, "care_team": [], "timezone": "UTC", "language": "en", "email": to, "updated_at": iso(T0)}
    )
    world.messaging.put_message(pid, {"message_id": mid, "at": iso(T0), "direction": "out", "status": "queued"})
    assert world.messaging.claim(iid, T0, timedelta(seconds=50), False) == "claimed"
    intent = Intent(
        intent_id=iid, recipient=Recipient(kind="patient", id=pid), template="reminder_measure", created_at=T0
    )
    event = TimelineEntry(pid, "message_out", T0, f"{iid}:out", "Reminder sent by email", channel, {})
    receipt = Receipt(
        channel,
        provider,
        to,
        "patient",
        pid,
        intent.model_dump_json(),
        T0,
        ("sms",),
        pid,
        (iso(T0), event.event_id),
        (iso(T0), mid),
    )
    world.messaging.record_sent(Sent(iid, {"channel": channel}, event, None, (pid, iso(T0), mid, channel), receipt))
    found = world.receipts.receipt(channel, provider)
    assert found is not None
    return dict(found)


def test_a_send_keeps_its_receipt_by_the_provider_s_id(world: World, ids: Callable[[str], str]) -> None:
    receipt = send(world, ids)
    assert (receipt["status"], receipt["fallback"], receipt["to"]) == ("sent", ["sms"], "ana@example.org")
    assert world.receipts.receipt("email", "not-ours") is None
    assert [e.get("status") for e in world.events(receipt["recipient_id"])] == ["sent"]


def test_a_bounce_moves_the_message_the_timeline_and_the_address_at_once(
    world: World, ids: Callable[[str], str]
) -> None:
    receipt = send(world, ids)
    pid = receipt["recipient_id"]
    mark = Mark("patient", pid, "email", "ana@example.org", iso(T0), "Permanent bounce")
    failed = TimelineEntry(pid, "delivery_failed", T0 + timedelta(hours=1), "x:receipt", "bounced", "email", {})

    assert world.receipts.settle_receipt(receipt, Status.BOUNCED, T0 + timedelta(hours=1), "bounce", mark, failed)

    assert world.receipts.receipt("email", receipt["provider_id"])["status"] == "bounced"
    assert world.message(pid, iso(T0), receipt["message_id"])["status"] == "bounced"  # type: ignore[index]
    assert [(e["kind"], e.get("status")) for e in world.events(pid)] == [
        ("message_out", "bounced"),
        ("delivery_failed", None),
    ]
    assert world.profile(pid)["unreachable_email"]["address"] == "ana@example.org"


def test_the_same_status_or_a_lower_one_writes_nothing(world: World, ids: Callable[[str], str]) -> None:
    receipt = send(world, ids)
    at = T0 + timedelta(hours=1)
    assert world.receipts.settle_receipt(receipt, Status.FAILED, at, "failed", None, None)
    assert not world.receipts.settle_receipt(receipt, Status.FAILED, at, "failed", None, None)
    assert not world.receipts.settle_receipt(receipt, Status.DELIVERED, at, "delivered", None, None)
    assert world.receipts.receipt("email", receipt["provider_id"])["status"] == "failed"


def test_a_message_deleted_since_does_not_stop_the_status(world: World, ids: Callable[[str], str]) -> None:
    receipt = send(world, ids)
    gone = {**receipt, "message_id": "deleted-since"}
    assert world.receipts.settle_receipt(gone, Status.DELIVERED, T0, "delivered", None, None)
    assert world.receipts.receipt("email", receipt["provider_id"])["status"] == "delivered"


def test_a_disabled_endpoint_s_devices_are_removed(world: World, ids: Callable[[str], str]) -> None:
    receipt = send(world, ids)
    pid = receipt["recipient_id"]
    world.add_device(pid, "arn:endpoint/a")
    world.add_device(pid, "arn:endpoint/b")
    assert world.receipts.remove_devices(pid, "arn:endpoint/a") == 1
    assert world.devices(pid) == ["arn:endpoint/b"]
    assert world.receipts.remove_devices(pid, "arn:endpoint/a") == 0


def test_a_late_event_about_a_first_send_leaves_the_message_to_its_re_send(
    world: World, ids: Callable[[str], str]
) -> None:
    receipt = send(world, ids)
    pid = receipt["recipient_id"]
    world.messaging.update_message(pid, iso(T0), receipt["message_id"], "sent", "sms")  # sent again, by SMS
    mark = Mark("patient", pid, "email", "ana@example.org", iso(T0), "Permanent bounce")

    assert world.receipts.settle_receipt(receipt, Status.BOUNCED, T0 + timedelta(hours=3), "bounce", mark, None)

    assert world.receipts.receipt("email", receipt["provider_id"])["status"] == "bounced"
    assert world.message(pid, iso(T0), receipt["message_id"])["status"] == "sent"  # type: ignore[index]
    assert world.profile(pid)["unreachable_email"]["address"] == "ana@example.org"
    assert [e.get("status") for e in world.events(pid)] == ["bounced"]
