"""The patient's conversation on the in-memory fakes of its ports: sent once per id, seen in scope, paged.

``ConversationService`` over ``FakeConversationStore`` (tests/fakes/conversations.py), the shared
``FakeOutbox``, a real ``PatientService`` over ``FakePatientStore`` (its ``visible_record``
decides scope) and a real ``AuditTrail`` over ``FakeAuditLog``.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.errors import ConflictError, ForbiddenError, MalformedRequestError, NotFoundError
from chalicelib.domain.messages import Intent, MessageIn
from chalicelib.domain.timeutil import iso
from chalicelib.services.audit import AuditTrail
from chalicelib.services.conversations import ConversationService, MessageAccepted
from tests.fakes.conversations import FakeConversationStore
from tests.unit.services.patients_world import PeopleWorld, admin, clinician, patient


class World(PeopleWorld):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.store = FakeConversationStore()
        self._message_ids = itertools.count(1)
        self.conversations = ConversationService(
            self.store,
            self.outbox,
            self.service,
            AuditTrail(self.audit_log, self.clock),
            CursorCodec(b"unit-test-secret"),
            self.clock,
            lambda prefix: f"{prefix}-{next(self._message_ids)}",
        )
        self.enrol("p-1", by=clinician("c-ana"))
        self.enrol("p-2", by=clinician("c-eve"))

    def send(
        self, text: str = "How are you?", message_id: str | None = "m-1", by: str = "c-ana", **kw: str
    ) -> MessageAccepted:
        return self.conversations.send(
            clinician(by), kw.get("pid", "p-1"), MessageIn(text=text, message_id=message_id), kw.get("key")
        )

    def messages(self) -> list[Intent]:
        return [i for i in self.outbox.intents if i.template == "clinician_message_patient"]


@pytest.fixture
def world() -> World:
    return World()


# -- sending ---------------------------------------------------------------------------------


def test_a_care_team_message_is_stored_queued_and_answered_with_its_ids(world: World) -> None:
    accepted = world.send("Take your reading before breakfast")

    assert accepted == MessageAccepted(message_id="m-1", thread_id="th-p-1")
    [stored] = world.store.conversation("p-1")
    assert stored["direction"] == "out" and stored["status"] == "queued" and stored["author"] == "c-ana"
    [intent] = world.messages()
    assert intent.intent_id == "message:m-1"
    assert intent.recipient.id == "p-1" and intent.params["text"] == "Take your reading before breakfast"


def test_a_retry_with_the_same_message_id_answers_the_same_and_stores_and_sends_once(world: World) -> None:
    first = world.send("Hello")
    world.clock.advance(minutes=3)
    second = world.send("Hello")

    assert first == second
    assert len(world.store.conversation("p-1")) == 1
    assert len(world.outbox.sent()) == 1


def test_a_retry_queues_the_delivery_again_with_the_first_requests_time(world: World) -> None:
    first_at = iso(world.clock())
    world.send("Hello")
    world.clock.advance(minutes=3)
    world.send("Hello")

    assert [i.params["message_at"] for i in world.messages()] == [first_at, first_at]


def test_the_same_message_id_with_another_text_is_a_conflict(world: World) -> None:
    world.send("Hello")

    with pytest.raises(ConflictError):
        world.send("Goodbye")
    assert [m["text"] for m in world.store.conversation("p-1")] == ["Hello"]


def test_the_same_message_id_from_another_clinician_is_a_conflict(world: World) -> None:
    world.patients.records["p-1"]["care_team"].append("c-eve")
    world.send("Hello", by="c-ana")

    with pytest.raises(ConflictError):
        world.send("Hello", by="c-eve")


def test_an_idempotency_key_names_the_message_when_no_message_id_is_given(world: World) -> None:
    first = world.send("Hello", message_id=None, key="key-1")
    again = world.send("Hello", message_id=None, key="key-1")
    other = world.send("Hello", message_id=None, key="key-2")

    assert first == again and other.message_id != first.message_id
    assert len(world.store.conversation("p-1")) == 2


def test_without_an_id_or_a_key_each_message_is_new(world: World) -> None:
    a = world.send("Hello", message_id=None)
    b = world.send("Hello", message_id=None)

    assert a.message_id != b.message_id
    assert len(world.store.conversation("p-1")) == 2


def test_the_same_message_id_may_be_used_for_another_patient(world: World) -> None:
    world.send("Hello", pid="p-1")
    world.send("Hello", by="c-eve", pid="p-2")

    assert len(world.store.conversation("p-1")) == len(world.store.conversation("p-2")) == 1


def test_a_clinician_outside_the_care_team_cannot_tell_the_patient_exists(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.send("Hello", by="c-eve", pid="p-1")
    assert world.store.conversation("p-1") == [] and world.messages() == []


def test_an_admin_acts_as_the_care_team_of_every_patient(world: World) -> None:
    accepted = world.conversations.send(admin(), "p-2", MessageIn(text="Hello", message_id="m-1"))

    assert accepted.thread_id == "th-p-2" and world.store.conversation("p-2")[0]["author"] == "a-1"


def test_a_patient_does_not_send_through_the_care_team_endpoint(world: World) -> None:
    with pytest.raises(ForbiddenError):
        world.conversations.send(patient("p-1"), "p-1", MessageIn(text="Hello", message_id="m-1"))


def test_an_unknown_patient_is_not_found(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.send("Hello", pid="p-404")


def test_sending_is_audited_and_a_replay_says_so(world: World) -> None:
    world.send("Hello")
    world.send("Hello")

    assert [e["detail"] for e in world.audited("create", "message")] == [{"replay": False}, {"replay": True}]


# -- inbound ---------------------------------------------------------------------------------


def test_a_patients_text_joins_the_same_thread_and_the_timeline(world: World) -> None:
    world.send("How are you?")
    world.clock.advance(minutes=5)
    message = world.conversations.record_inbound("p-1", "sms", "Fine, thanks", world.clock(), "SM123")

    assert message["message_id"] == "in-SM123" and message["thread_id"] == "th-p-1"
    assert [m["direction"] for m in world.store.conversation("p-1")] == ["out", "in"]
    [event] = world.store.timeline("p-1")
    assert event["kind"] == "message_in" and event["channel"] == "sms"
    assert event["ref"] == {"message_id": "in-SM123", "thread_id": "th-p-1"}


def test_a_redelivered_inbound_text_is_kept_once(world: World) -> None:
    at = world.clock()
    world.conversations.record_inbound("p-1", "sms", "Fine", at, "SM1")
    world.conversations.record_inbound("p-1", "sms", "Fine", at, "SM1")

    assert len(world.store.conversation("p-1")) == 1 and len(world.store.timeline("p-1")) == 1


# -- reading ---------------------------------------------------------------------------------


def _conversation(world: World, count: int) -> None:
    for n in range(count):
        world.send(f"message {n}", message_id=f"m-{n}")
        world.clock.advance(minutes=1)


def test_a_patient_reads_their_own_conversation(world: World) -> None:
    _conversation(world, 2)

    items, cursor = world.conversations.page(patient("p-1"), "p-1", 10, None)

    assert [m.text for m in items] == ["message 0", "message 1"] and cursor is None


def test_a_patient_cannot_read_another_patients_conversation(world: World) -> None:
    world.send("Hello", by="c-eve", pid="p-2")

    with pytest.raises(NotFoundError):
        world.conversations.page(patient("p-1"), "p-2", 10, None)


def test_a_clinician_reads_only_their_panels_conversations(world: World) -> None:
    world.send("Hello", by="c-eve", pid="p-2")

    with pytest.raises(NotFoundError):
        world.conversations.page(clinician("c-ana"), "p-2", 10, None)
    items, _ = world.conversations.page(clinician("c-eve"), "p-2", 10, None)
    assert [m.text for m in items] == ["Hello"]


def test_pages_walk_back_from_the_newest_and_read_oldest_first(world: World) -> None:
    _conversation(world, 5)

    first, cursor = world.conversations.page(clinician(), "p-1", 2, None)
    second, cursor2 = world.conversations.page(clinician(), "p-1", 2, cursor)
    third, cursor3 = world.conversations.page(clinician(), "p-1", 2, cursor2)

    assert [m.text for m in first] == ["message 3", "message 4"]
    assert [m.text for m in second] == ["message 1", "message 2"]
    assert [m.text for m in third] == ["message 0"] and cursor3 is None


def test_a_full_last_page_names_a_position_and_the_next_is_empty(world: World) -> None:
    _conversation(world, 2)

    items, cursor = world.conversations.page(clinician(), "p-1", 2, None)
    rest, end = world.conversations.page(clinician(), "p-1", 2, cursor)

    assert len(items) == 2 and cursor is not None and rest == [] and end is None


def test_a_cursor_issued_for_one_patient_is_refused_for_another(world: World) -> None:
    world.patients.records["p-2"]["care_team"].append("c-ana")
    _conversation(world, 3)

    _, cursor = world.conversations.page(clinician(), "p-1", 1, None)
    with pytest.raises(MalformedRequestError):
        world.conversations.page(clinician(), "p-2", 1, cursor)


def test_messages_of_both_directions_validate_as_the_api_shows_them(world: World) -> None:
    world.send("Hello")
    world.conversations.record_inbound("p-1", "sms", "Hi", world.clock() + timedelta(minutes=1), "SM1")

    items, _ = world.conversations.page(patient("p-1"), "p-1", 10, None)

    assert [(m.direction, m.channel, m.status) for m in items] == [("out", None, "queued"), ("in", "sms", "received")]


def test_reading_the_conversation_is_audited_with_the_count(world: World) -> None:
    _conversation(world, 3)

    world.conversations.page(patient("p-1"), "p-1", 2, None)

    [entry] = world.audited("list", "message")
    assert entry["patient_id"] == "p-1" and entry["detail"] == {"count": 2}
