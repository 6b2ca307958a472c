"""Delivery on the fakes: routing and fallback, quiet hours, opt-out, the daily cap, clinician pages.

The fast tier of tests/integration/test_messaging.py: ``MessagingService`` over
``tests/fakes/``, published domain events recorded in a list.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.events import PatientUnreachable
from chalicelib.domain.messages import Intent
from chalicelib.services.messaging import TransientDeliveryError
from tests.fakes import FakeClock
from tests.unit.services.messaging_world import NIGHT, PHONE, MessagingWorld, permanent, transient


@pytest.fixture
def world() -> MessagingWorld:
    w = MessagingWorld()
    w.patient()
    return w


# -- routing and fallback ------------------------------------------------------------------------


def test_a_routine_message_goes_by_the_first_preferred_channel_only(world: MessagingWorld) -> None:
    assert world.service.deliver(world.intent()) == "sent"
    assert world.sent_by() == {"sms": 1}
    address, message = world.channels["sms"].sent[0]
    assert address == PHONE and "Northside Clinic" in message.text
    assert world.store.delivery("i-1")["status"] == "sent"  # type: ignore[index]
    assert world.kinds() == ["message_out"]
    assert world.patients.get("p-1")["channel_stats"]["sms"]["sent"] == 1  # type: ignore[index]


def test_nothing_goes_to_a_patient_whose_record_is_being_de_identified(world: MessagingWorld) -> None:
    world.patients.records["p-1"]["deidentifying_since"] = "2032-12-03T09:01:00.000Z"  # a retention run began
    assert world.service.deliver(world.intent()) == "failed"
    assert world.sent_by() == {}
    assert world.kinds() == []  # and nothing lands on the timeline the run is sweeping


def test_a_permanent_failure_falls_back_to_the_next_channel(world: MessagingWorld) -> None:
    world.fail("sms", permanent("OptedOut"))
    assert world.service.deliver(world.intent()) == "sent"
    assert world.sent_by() == {"email": 1}
    assert world.kinds() == ["delivery_failed", "message_out"]
    assert world.events == []


def test_a_transient_failure_is_retried_later_and_sent_once(world: MessagingWorld) -> None:
    world.fail("sms", transient())
    world.fail("email", transient())
    intent = world.intent()
    with pytest.raises(TransientDeliveryError):
        world.service.deliver(intent)
    assert world.store.delivery(intent.intent_id)["status"] == "retry"  # type: ignore[index]
    assert world.service.deliver(intent) == "sent"  # the queue's redelivery
    assert world.sent_by() == {"sms": 1}
    assert world.service.deliver(intent) == "duplicate"


def test_every_channel_failing_hands_the_patient_to_a_human(world: MessagingWorld) -> None:
    world.fail("sms", always=permanent())
    world.fail("email", always=permanent())
    intent = world.intent()
    assert world.service.deliver(intent) == "failed"
    task_id = f"call-{intent.intent_id}"
    assert [t["task_id"] for t in world.store.tasks_of("p-1")] == [task_id]
    assert world.store.tasks_of("p-1")[0]["tried"] == ["sms", "email"]
    assert world.patients.get("p-1")["open_tasks"] == 1  # type: ignore[index]
    assert world.events == [PatientUnreachable("p-1", task_id, world.clock())]
    assert "task_created" in world.kinds()


def test_a_task_is_handed_to_a_human_once(world: MessagingWorld) -> None:
    now = world.clock()
    world.service.hand_to_human("p-1", "call-x", "no answer", now)
    world.service.hand_to_human("p-1", "call-x", "no answer", now)
    assert len(world.store.tasks_of("p-1")) == 1
    assert world.patients.get("p-1")["open_tasks"] == 1  # type: ignore[index]
    assert len(world.events) == 1


def test_a_second_delivery_of_the_same_intent_is_a_duplicate(world: MessagingWorld) -> None:
    intent = world.intent()
    assert world.service.deliver(intent) == "sent"
    assert world.service.deliver(intent) == "duplicate"
    assert world.sent_by() == {"sms": 1}


def test_a_delivery_in_progress_elsewhere_is_retried(world: MessagingWorld) -> None:
    intent = world.intent()
    world.store.claim(intent.intent_id, world.clock(), timedelta(seconds=50), False)
    with pytest.raises(TransientDeliveryError):
        world.service.deliver(intent)
    world.clock.advance(minutes=2)
    assert world.service.deliver(intent) == "uncertain"  # routine: at most once
    assert world.sent_by() == {}


def test_a_safety_message_whose_delivery_crashed_is_sent_again(world: MessagingWorld) -> None:
    intent = world.intent("safety_glucose_low", priority="safety")
    world.store.claim(intent.intent_id, world.clock(), timedelta(seconds=50), True)
    world.clock.advance(minutes=2)
    assert world.service.deliver(intent) == "sent"


# -- quiet hours, consent, opt-out ------------------------------------------------------------------


def test_quiet_hours_defer_a_routine_message_and_the_tick_releases_it_once() -> None:
    world = MessagingWorld()
    world.clock.now = NIGHT
    world.patient()
    intent = world.intent()
    assert world.service.deliver(intent) == "deferred"
    assert world.sent_by() == {}
    assert world.store.due_deferred(world.clock()) == []
    world.clock.advance(hours=9)  # 08:00 in New York
    [due] = world.store.due_deferred(world.clock())
    world.service.release_deferred(due, world.clock())
    world.service.release_deferred(due, world.clock())  # a second tick wins nothing
    assert [i.intent_id for i in world.outbound.take()] == [intent.intent_id]
    assert world.service.deliver(intent) == "sent"
    assert world.sent_by() == {"sms": 1}


def _visit(world: MessagingWorld, status: str, starts_at: str = "2026-03-05T16:00:00.000Z") -> dict[str, Any]:
    visit = {"patient_id": "p-1", "appointment_id": "v-1", "status": status, "starts_at": starts_at}
    world.appointments.appointments[("p-1", "v-1")] = {**visit, "updated_at": world.clock().isoformat()}
    return {"when": "2026-03-05 11:00", "appointment_id": "v-1", "starts_at": starts_at}


def _held_till_morning(world: MessagingWorld, intent: Intent, status: str, starts_at: str) -> str:
    assert world.service.deliver(intent) == "deferred"
    world.appointments.appointments[("p-1", "v-1")].update(status=status, starts_at=starts_at)  # that night
    world.clock.advance(hours=9)  # 08:00 in New York
    [due] = world.store.due_deferred(world.clock())
    world.service.release_deferred(due, world.clock())
    world.outbound.take()
    return world.service.deliver(intent)


def test_a_moved_notice_held_by_quiet_hours_does_not_follow_the_cancellation_of_its_visit() -> None:
    world = MessagingWorld(clock=FakeClock(NIGHT))
    world.patient()
    moved = world.intent("appointment_rescheduled", params=_visit(world, "scheduled"))
    assert world.service.deliver(moved) == "deferred"
    cancelled = world.intent("appointment_cancelled", params=_visit(world, "cancelled"))  # cancelled that night
    assert world.service.deliver(cancelled) == "deferred"
    world.clock.advance(hours=9)  # 08:00 in New York: both come out of hold, the move first
    for due in world.store.due_deferred(world.clock()):
        world.service.release_deferred(due, world.clock())
    outcomes = [world.service.deliver(i) for i in world.outbound.take()]
    assert sorted(outcomes) == ["sent", "skipped"]
    [(_, message)] = world.channels["sms"].sent
    assert "cancelled" in message.text and "Reply C" not in message.text
    assert world.store.delivery(moved.intent_id)["status"] == "skipped"  # type: ignore[index]


@pytest.mark.parametrize(
    ("template", "now", "goes"),
    [
        ("appointment_rescheduled", ("scheduled", "2026-03-05T16:00:00.000Z"), True),
        ("appointment_rescheduled", ("confirmed", "2026-03-05T16:00:00.000Z"), True),
        ("appointment_rescheduled", ("scheduled", "2026-03-06T16:00:00.000Z"), False),  # moved again
        ("appointment_reminder", ("cancelled", "2026-03-05T16:00:00.000Z"), False),
        ("appointment_cancelled", ("cancelled", "2026-03-05T16:00:00.000Z"), True),
        ("appointment_reminder", ("confirmed", "2026-03-05T16:00:00.000Z"), True),
    ],
)
def test_a_held_appointment_notice_goes_only_if_still_true(template: str, now: tuple[str, str], goes: bool) -> None:
    world = MessagingWorld(clock=FakeClock(NIGHT))
    world.patient()
    intent = world.intent(template, params=_visit(world, "cancelled" if "cancelled" in template else "scheduled"))
    assert _held_till_morning(world, intent, *now) == ("sent" if goes else "skipped")


def test_a_safety_message_bypasses_quiet_hours_and_consent() -> None:
    world = MessagingWorld()
    world.clock.now = NIGHT
    world.patient(consented=())
    assert world.service.deliver(world.intent("safety_glucose_low", priority="safety")) == "sent"
    assert world.sent_by() == {"sms": 1}


def test_without_consent_a_routine_message_does_not_go(world: MessagingWorld) -> None:
    world.patient("p-2", consented=("email",))
    assert world.service.deliver(world.intent(to="p-2")) == "sent"
    assert world.sent_by() == {"email": 1}


def test_an_opt_out_is_never_bypassed_even_for_safety() -> None:
    world = MessagingWorld()
    world.patient(channels=("sms",), consented=("email",), opted_out=("sms",))
    assert world.service.deliver(world.intent("safety_glucose_low", priority="safety")) == "sent"
    assert world.sent_by() == {"email": 1}  # every reachable channel but the opted-out one


def test_an_opted_out_patient_with_no_other_channel_is_handed_to_a_human() -> None:
    world = MessagingWorld()
    world.patient(channels=("sms",), consented=(), opted_out=("sms", "email", "voice"))
    assert world.service.deliver(world.intent("safety_glucose_low", priority="safety")) == "failed"
    assert world.sent_by() == {}
    assert [type(e) for e in world.events] == [PatientUnreachable]


# -- the daily cap ----------------------------------------------------------------------------------


def test_the_daily_cap_holds_routine_messages_and_exempts_safety() -> None:
    world = MessagingWorld(daily_cap=2)
    world.patient()
    outcomes = [world.service.deliver(world.intent()) for _ in range(3)]
    assert outcomes == ["sent", "sent", "held"]
    assert world.service.deliver(world.intent("safety_glucose_low", priority="safety")) == "sent"
    assert world.sent_by() == {"sms": 3}
    assert world.store.held_on({"p-1": "2026-03-02"}) == {"p-1": 1}
    assert world.kinds().count("delivery_failed") == 1


def test_a_redelivered_intent_takes_no_second_slot() -> None:
    world = MessagingWorld(daily_cap=1)
    world.patient()
    world.fail("sms", transient())
    world.fail("email", transient())
    intent = world.intent()
    with pytest.raises(TransientDeliveryError):
        world.service.deliver(intent)
    assert world.service.deliver(intent) == "sent"


def test_the_cap_counts_the_patients_local_day() -> None:
    world = MessagingWorld(daily_cap=1)
    world.patient()
    assert world.service.deliver(world.intent()) == "sent"
    world.clock.advance(hours=13)  # 03:00 the next local day: quiet, so deferred, not held
    assert world.service.deliver(world.intent()) == "deferred"
    world.clock.advance(hours=6)
    assert world.service.deliver(world.intent()) == "sent"


# -- clinician pages ----------------------------------------------------------------------------------


def test_a_clinician_page_goes_out_on_every_real_time_channel_plus_email() -> None:
    world = MessagingWorld()
    world.patient()
    world.clinician(channels=("sms",))
    page = world.intent("alert_page_clinician", to="c-1", kind="clinician", priority="safety", patient_id="p-1")
    page.params["link"] = "https://console.example/a/1"
    world.clock.now = NIGHT  # no quiet hours for work contacts
    assert world.service.deliver(page) == "sent"
    assert world.sent_by() == {"sms": 1, "email": 1, "voice": 1}
    assert [e["summary"] for e in world.timeline.of("p-1", "message_out")] == [
        "Alert page clinician to c-1 sent by email",
        "Alert page clinician to c-1 sent by sms",
        "Alert page clinician to c-1 sent by voice",
    ]


def test_a_page_reaching_only_email_is_still_sent() -> None:
    world = MessagingWorld()
    world.clinician()
    world.fail("sms", always=permanent())
    world.fail("voice", always=permanent())
    page = world.intent("alert_page_clinician", to="c-1", kind="clinician", priority="safety")
    page.params["link"] = "https://console.example/a/1"
    assert world.service.deliver(page) == "sent"
    assert world.sent_by() == {"email": 1}


def test_an_unreachable_clinician_is_not_handed_to_a_human() -> None:
    world = MessagingWorld()
    world.clinician()
    for name in ("sms", "email", "voice"):
        world.fail(name, always=permanent())
    page = world.intent("alert_page_clinician", to="c-1", kind="clinician", priority="safety")
    page.params["link"] = "https://console.example/a/1"
    assert world.service.deliver(page) == "failed"
    assert world.events == []


def test_sms_and_voice_go_only_to_the_clinics_countries() -> None:
    world = MessagingWorld()
    world.patient(phone="+445551230000")
    assert world.service.deliver(world.intent()) == "sent"
    assert world.sent_by() == {"email": 1}
    assert "sms refused: country not allowed" in [e["summary"] for e in world.timeline.of("p-1")]


def test_an_unknown_recipient_fails_without_a_task(world: MessagingWorld) -> None:
    assert world.service.deliver(world.intent(to="p-nobody")) == "failed"
    assert world.events == [] and world.store.tasks_of("p-nobody") == []
