"""Delivery truth on the fakes: what the providers' events do to a sent message, its address and what comes next.

The fast tier of tests/e2e/test_delivery_truth.py: ``DeliveryService`` over the messaging world's fakes
(``FakeReceipts`` is held to ``DynamoReceipts`` by tests/contract/test_receipts.py).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.delivery import Outcome, Status
from chalicelib.domain.events import PatientUnreachable
from tests.unit.services.messaging_world import DAYTIME, MessagingWorld


def outcome(world: MessagingWorld, channel: str, status: Status, n: int = 1, gone: bool = False) -> Outcome:
    receipt = world.receipt_of(channel, n)
    return Outcome(channel, receipt["provider_id"], receipt["to"], status, gone, f"{status.value} (test)")


def deliver_queued(world: MessagingWorld) -> list[str]:
    """Deliver what the delivery service enqueued (the outbound queue's consumer)."""
    return [world.service.deliver(intent) for intent in world.outbound.take()]


@pytest.fixture
def world() -> MessagingWorld:
    w = MessagingWorld()
    w.patient(channels=("email", "sms"))
    return w


# -- email ---------------------------------------------------------------------------------------


def test_a_hard_bounce_marks_the_address_resends_on_the_next_channel_and_later_messages_skip_it(
    world: MessagingWorld,
) -> None:
    assert world.service.deliver(world.intent("reminder_measure")) == "sent"
    assert world.sent_by() == {"email": 1}

    assert world.delivery.record(outcome(world, "email", Status.BOUNCED, gone=True)) == "settled"

    assert world.patients.get("p-1")["unreachable_email"]["address"] == "p-1@example.com"  # type: ignore[index]
    assert deliver_queued(world) == ["sent"]  # the bounced reminder, again, on the route's next channel
    assert world.sent_by() == {"email": 1, "sms": 1}
    assert world.service.deliver(world.intent("reminder_measure")) == "sent"
    assert world.sent_by() == {"email": 1, "sms": 2}  # the next one skips the dead address

    out = [e for e in world.timeline.of("p-1") if e["kind"] == "message_out" and e["channel"] == "email"]
    assert [e["status"] for e in out] == ["bounced"]
    failed = [e for e in world.timeline.of("p-1") if e["kind"] == "delivery_failed" and e["channel"] == "email"]
    assert len(failed) == 1 and "bounced" in failed[0]["summary"] and "unreachable" in failed[0]["summary"]


def test_a_new_address_is_reachable_at_once(world: MessagingWorld) -> None:
    world.service.deliver(world.intent())
    world.delivery.record(outcome(world, "email", Status.BOUNCED, gone=True))
    world.outbound.take()
    world.patients.records["p-1"]["email"] = "ana.new@example.com"
    world.service.deliver(world.intent())
    assert world.channels["email"].sent[-1][0] == "ana.new@example.com"


def test_a_full_mailbox_fails_the_message_and_keeps_the_address(world: MessagingWorld) -> None:
    world.service.deliver(world.intent())
    assert world.delivery.record(outcome(world, "email", Status.FAILED)) == "settled"
    assert "unreachable_email" not in world.patients.get("p-1")  # type: ignore[operator]
    assert deliver_queued(world) == ["sent"] and world.sent_by() == {"email": 1, "sms": 1}
    world.service.deliver(world.intent())
    assert world.sent_by() == {"email": 2, "sms": 1}


def test_a_complaint_after_delivery_suppresses_email(world: MessagingWorld) -> None:
    world.service.deliver(world.intent())
    assert world.delivery.record(outcome(world, "email", Status.DELIVERED)) == "settled"
    assert world.delivery.record(outcome(world, "email", Status.COMPLAINED, gone=True)) == "settled"
    assert world.receipt_of("email")["status"] == "complained"
    assert world.outbound.take() == []  # its reader got it: nothing is sent again
    world.service.deliver(world.intent())
    assert world.sent_by() == {"email": 1, "sms": 1}


# -- once, in any order ----------------------------------------------------------------------------


def test_an_event_handled_twice_changes_nothing_the_second_time(world: MessagingWorld) -> None:
    world.service.deliver(world.intent())
    bounce = outcome(world, "email", Status.BOUNCED, gone=True)
    assert world.delivery.record(bounce) == "settled"
    timeline = world.timeline.of("p-1")
    assert world.delivery.record(bounce) == "unchanged"
    assert world.timeline.of("p-1") == timeline
    assert len(world.outbound.take()) == 1  # one re-send, not two


def test_a_delivery_reported_after_the_bounce_is_ignored(world: MessagingWorld) -> None:
    world.service.deliver(world.intent())
    world.delivery.record(outcome(world, "email", Status.BOUNCED, gone=True))
    assert world.delivery.record(outcome(world, "email", Status.DELIVERED)) == "unchanged"
    assert world.receipt_of("email")["status"] == "bounced"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([s for s in Status if s.rank >= Status.SENT.rank]), min_size=1, max_size=8))
def test_any_sequence_of_events_ends_in_the_highest_status_and_resends_at_most_once(reports: list[Status]) -> None:
    world = MessagingWorld()
    world.patient(channels=("email", "sms"))
    world.service.deliver(world.intent())
    for status in reports:
        world.delivery.record(outcome(world, "email", status, gone=status in (Status.BOUNCED, Status.COMPLAINED)))
    assert world.receipt_of("email")["status"] == max(reports, key=lambda s: s.rank).value
    resent = world.outbound.take()
    assert len({i.intent_id for i in resent}) <= 1
    assert [world.service.deliver(i) for i in resent].count("sent") <= 1


def test_an_event_about_a_message_we_did_not_send_is_counted_and_dropped(world: MessagingWorld) -> None:
    stranger = Outcome("email", "not-ours", "x@example.com", Status.BOUNCED, True, "bounce")
    assert world.delivery.record(stranger) == "unmatched"


# -- what comes after a failure ---------------------------------------------------------------------


def test_a_failure_long_after_the_send_records_the_truth_but_sends_nothing_again(world: MessagingWorld) -> None:
    world.service.deliver(world.intent())
    world.clock.advance(hours=13)
    assert world.delivery.record(outcome(world, "email", Status.FAILED)) == "settled"
    assert world.outbound.take() == []


def test_when_no_channel_is_left_a_person_is_asked_to_call_the_patient() -> None:
    world = MessagingWorld()
    world.patient(channels=("sms",))
    world.service.deliver(world.intent())
    world.delivery.record(outcome(world, "sms", Status.FAILED, gone=True))
    assert world.patients.get("p-1")["unreachable_sms"]["address"] == world.receipt_of("sms")["to"]  # type: ignore[index]
    assert "task_created" in world.kinds()
    assert any(isinstance(e, PatientUnreachable) for e in world.events)


def test_a_disabled_push_endpoint_loses_its_device_and_the_message_goes_by_sms() -> None:
    world = MessagingWorld()
    world.patient(channels=("push", "sms"), device=True)
    world.service.deliver(world.intent())
    assert world.sent_by() == {"push": 1}
    assert world.delivery.record(outcome(world, "push", Status.FAILED, gone=True)) == "settled"
    assert not [sk for sk in world.patients.contact["p-1"] if sk.startswith("DEVICE#")]
    assert deliver_queued(world) == ["sent"] and world.sent_by() == {"push": 1, "sms": 1}


def test_a_verification_code_is_not_sent_anywhere_else(world: MessagingWorld) -> None:
    world.patients.records["p-1"]["email_pending"] = "new@example.com"
    intent = world.intent("contact_verification_email", only_channels=["email"], verify_address="new@example.com")
    intent.params.update(code="123456")
    world.service.deliver(intent)
    world.delivery.record(outcome(world, "email", Status.BOUNCED, gone=True))
    assert world.outbound.take() == []


# -- clinicians' pages (docs/clinical.md "Safety net" rule 5) ----------------------------------------


def page(world: MessagingWorld, cid: str) -> str:
    intent = world.intent("alert_page_clinician", to=cid, kind="clinician", priority="safety", patient_id="p-1")
    intent.params.update(alert_id="a-1", priority="critical", link="https://x/alerts/a-1", level=0, minutes=0)
    return world.service.deliver(intent)


def test_a_page_whose_text_fails_is_retried_on_the_clinician_s_other_waking_channel(world: MessagingWorld) -> None:
    world.clinician("c-1", channels=("sms", "email"))
    assert page(world, "c-1") == "sent"
    assert world.sent_by() == {"sms": 1, "email": 1, "voice": 1}  # every waking channel, email in addition
    assert world.delivery.record(outcome(world, "sms", Status.FAILED)) == "settled"
    assert deliver_queued(world) == ["sent"]
    assert world.sent_by() == {"sms": 1, "email": 1, "voice": 2}
    failed = [e for e in world.timeline.of("p-1") if e["kind"] == "delivery_failed"]
    assert "to c-1 by sms failed" in failed[0]["summary"]


def test_a_page_that_can_wake_nobody_goes_to_the_on_call_list() -> None:
    world = MessagingWorld(channel_names=("push", "sms", "email"))  # no voice identity configured
    world.patient()
    world.clinician("c-1", channels=("sms", "email"))
    world.clinicians.put({"clinician_id": "c-9", "given_name": "On", "phone": "+15559990000", "channels": ["sms"]})
    world.clinicians.put_on_call({"clinician_ids": ["c-1", "c-9"]})
    page(world, "c-1")
    world.delivery.record(outcome(world, "sms", Status.FAILED, gone=True))
    resent = world.outbound.take()
    assert [i.recipient.id for i in resent] == ["c-9"]  # not the clinician it failed to wake
    assert [world.service.deliver(i) for i in resent] == ["sent"]
    assert world.channels["sms"].sent[-1][0] == "+15559990000"
    assert world.clinicians.get("c-1")["unreachable_sms"]["address"] == "+15559870000"  # type: ignore[index]


def test_an_email_of_a_page_failing_sends_nothing_again_not_even_to_the_on_call_list(world: MessagingWorld) -> None:
    world.clinician("c-1", channels=("sms", "email"))
    world.clinicians.put({"clinician_id": "c-9", "given_name": "On", "phone": "+15559990000", "channels": ["sms"]})
    world.clinicians.put_on_call({"clinician_ids": ["c-9"]})
    page(world, "c-1")
    world.delivery.record(outcome(world, "email", Status.BOUNCED, gone=True))
    assert world.outbound.take() == []  # the SMS woke them; the email was only ever in addition


def test_an_on_call_copy_that_fails_is_not_handed_on_again() -> None:
    world = MessagingWorld(channel_names=("push", "sms", "email"))
    world.patient()
    world.clinician("c-1", channels=("sms",))
    world.clinicians.put({"clinician_id": "c-9", "given_name": "On", "phone": "+15559990000", "channels": ["sms"]})
    world.clinicians.put_on_call({"clinician_ids": ["c-9", "c-1"]})
    page(world, "c-1")
    world.delivery.record(outcome(world, "sms", Status.FAILED))
    (copy,) = world.outbound.take()
    world.service.deliver(copy)
    world.delivery.record(outcome(world, "sms", Status.FAILED, n=2))  # the on-call member's text fails too
    assert world.outbound.take() == []  # no ping-pong between on-call members


def test_a_chain_of_re_sends_ends_with_the_window_of_the_first() -> None:
    world = MessagingWorld()
    world.patient(channels=("email", "sms", "push"), device=True)
    world.service.deliver(world.intent())
    world.clock.advance(hours=6)  # 20:00 in New York: before the quiet hours
    world.delivery.record(outcome(world, "email", Status.FAILED))
    (again,) = world.outbound.take()
    assert again.created_at == DAYTIME  # the first send's, carried on
    assert world.service.deliver(again) == "sent"
    world.clock.advance(hours=7)  # 13 hours after the first send
    world.delivery.record(outcome(world, "sms", Status.FAILED))
    assert world.outbound.take() == []
