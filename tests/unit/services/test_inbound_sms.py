"""Inbound SMS on the fakes: keywords, a reading by SMS, shared phones, red flags.

The fast tier of tests/integration/test_inbound_sms.py: ``InboundSmsService`` over
``tests/fakes/`` and a real ``MessagingService`` on the same fakes; published domain
events recorded in a list.
"""

from __future__ import annotations

import pytest

from chalicelib.domain.events import AppointmentAnswered, DoseTakenTexted, RedFlagTexted
from chalicelib.services.audit import AuditTrail
from chalicelib.services.inbound import InboundSmsService
from tests.fakes import FakeAuditLog, FakeConversation, FakeReadingRecorder
from tests.unit.services.messaging_world import CLINIC, PHONE, MessagingWorld


class InboundWorld(MessagingWorld):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.audit_log = FakeAuditLog()
        self.conversation = FakeConversation()
        self.readings = FakeReadingRecorder(self.clock)
        self.inbound = InboundSmsService(
            self.patients,
            self.store,
            self.channels["sms"],
            self.conversation,
            self.readings,
            self.service,
            CLINIC,
            AuditTrail(self.audit_log, self.clock),
            self.events.append,
        )
        self._inbound_ids = 0

    def text(self, body: str, sender: str = PHONE) -> str:
        self._inbound_ids += 1
        return self.inbound.handle(sender, body, f"in-{self._inbound_ids}", self.clock())

    def replies(self) -> list[str]:
        return [message.text for _, message in self.channels["sms"].sent]

    def sms_consent(self, pid: str = "p-1") -> dict[str, object]:
        return next(i for i in self.store.contact_items(pid) if i["sk"] == "CONSENT#sms")


@pytest.fixture
def world() -> InboundWorld:
    w = InboundWorld()
    w.patient()
    return w


@pytest.fixture
def family() -> InboundWorld:
    w = InboundWorld()
    w.patient("p-1")
    w.patient("p-2")
    return w


def test_a_text_from_an_unknown_number_is_ignored(world: InboundWorld) -> None:
    assert world.text("hello", sender="+15559999999") == "unknown_sender"
    assert world.replies() == [] and world.events == []


def test_a_text_from_a_patient_being_de_identified_is_not_stored_or_answered(world: InboundWorld) -> None:
    world.patients.records["p-1"]["deidentifying_since"] = "2032-12-03T09:01:00.000Z"  # a retention run began
    assert world.text("I moved to Porto, my new doctor is Dr Penhallow") == "unknown_sender"
    assert world.replies() == [] and world.events == [] and world.conversation.messages == {}


# -- keywords ----------------------------------------------------------------------------------------


def test_stop_opts_out_once_confirms_once_and_is_audited_as_the_patient(world: InboundWorld) -> None:
    assert world.text("STOP") == "opt_out"
    assert world.text("stop") == "opt_out"
    assert world.sms_consent()["opted_out"] is True
    assert len(world.replies()) == 1  # one confirmation only, then silence
    [entry] = world.audit_log.entries
    assert entry["patient_id"] == "p-1" and entry["action"] == "update"


def test_after_stop_routine_messages_go_elsewhere_and_help_is_still_answered(world: InboundWorld) -> None:
    world.text("STOP")
    assert world.text("HELP") == "help"
    assert len(world.replies()) == 2
    assert world.service.deliver(world.intent()) == "sent"
    assert world.sent_by() == {"sms": 2, "email": 1}


def test_start_opts_back_in_and_confirms(world: InboundWorld) -> None:
    world.text("STOP")
    assert world.text("START") == "opt_in"
    consent = world.sms_consent()
    assert consent["granted"] is True and consent["opted_out"] is False
    assert len(world.replies()) == 2


def test_taken_publishes_dose_taken(world: InboundWorld) -> None:
    assert world.text("TAKEN") == "taken"
    assert world.events == [DoseTakenTexted("p-1", world.clock(), "in-1")]


@pytest.mark.parametrize(("body", "answer"), [("C", "confirm"), ("R", "reschedule")])
def test_c_and_r_answer_an_appointment(world: InboundWorld, body: str, answer: str) -> None:
    world.text(body)
    assert world.events == [AppointmentAnswered("p-1", world.clock(), "in-1", answer)]  # type: ignore[arg-type]


def test_a_free_text_goes_to_the_care_team(world: InboundWorld) -> None:
    world.patients.records["p-1"]["care_team"] = ["c-1", "c-2"]
    assert world.text("can I move my visit?") == "text"
    assert [i.recipient.id for i in world.outbound.take()] == ["c-1", "c-2"]
    assert world.conversation.messages["in-1"]["patient_id"] == "p-1"


# -- readings by SMS ---------------------------------------------------------------------------------


def test_a_reading_by_sms_is_recorded_once_and_acknowledged(world: InboundWorld) -> None:
    world.text("BP 128/82")
    world.inbound.handle(PHONE, "BP 128/82", "in-1", world.clock())  # a redelivered SMS
    [reading] = world.readings.readings.values()
    assert reading.reading_id == "sms-in-1" and reading.source == "sms" and reading.systolic == 128
    assert len(world.readings.readings) == 1
    assert world.timeline.of("p-1", "message_out")[-1]["ref"]["template"].startswith("sms_reading_received")


def test_a_critical_reading_by_sms_gets_no_reply_of_its_own(world: InboundWorld) -> None:
    world.text("BP 190/125")
    [reading] = world.readings.readings.values()
    assert reading.classification.severity.startswith("critical")
    assert world.replies() == []  # the alert pipeline sends the safety message


def test_a_reply_from_sms_credits_the_channel_that_asked(world: InboundWorld) -> None:
    world.service.deliver(world.intent())
    world.clock.advance(minutes=30)
    world.text("TAKEN")
    assert world.patients.get("p-1")["channel_stats"]["sms"]["answered"] == 1  # type: ignore[index]


# -- shared phones and red flags -------------------------------------------------------------------


def test_a_reading_from_a_shared_phone_is_attributed_to_nobody(family: InboundWorld) -> None:
    assert family.text("BP 128/82") == "shared:reading"
    assert family.readings.readings == {}
    assert family.conversation.messages == {}
    assert [t["kind"] for pid in ("p-1", "p-2") for t in family.store.tasks_of(pid)] == ["shared_phone_message"] * 2
    assert len(family.replies()) == 1  # one reply to the number: use the app


def test_a_shared_phone_text_redelivered_creates_no_second_task(family: InboundWorld) -> None:
    family.inbound.handle(PHONE, "BP 128/82", "in-x", family.clock())
    family.inbound.handle(PHONE, "BP 128/82", "in-x", family.clock())
    assert len(family.store.tasks_of("p-1")) == 1 and len(family.store.tasks_of("p-2")) == 1


def test_a_red_flag_publishes_red_flag_texted(world: InboundWorld) -> None:
    assert world.text("I have chest pain") == "red_flag"
    assert world.events == [RedFlagTexted("p-1", world.clock(), "in-1")]
    assert len(world.replies()) == 1


def test_a_red_flag_from_a_shared_phone_publishes_for_each_sharer(family: InboundWorld) -> None:
    assert family.text("my chest hurts") == "shared:red_flag"
    at = family.clock()
    assert family.events == [RedFlagTexted("p-1", at, "in-1"), RedFlagTexted("p-2", at, "in-1")]
    assert len(family.replies()) == 1


def test_stop_from_a_shared_phone_opts_out_every_sharer(family: InboundWorld) -> None:
    assert family.text("STOP") == "shared:opt_out"
    assert family.sms_consent("p-1")["opted_out"] is True and family.sms_consent("p-2")["opted_out"] is True
    family.text("STOP")
    assert len(family.replies()) == 1
    family.text("START")
    assert family.sms_consent("p-1")["granted"] is True and family.sms_consent("p-2")["granted"] is True
