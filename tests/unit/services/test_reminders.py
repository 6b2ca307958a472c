"""Reminders on the fakes: created once, who sees and changes them, fired once, doses taken, the missed-readings ladder.

The fast tier of tests/integration/test_reminders.py and tests/e2e/test_reminders.py:
``ReminderService`` over ``FakeReminderStore`` (tests/fakes/reminders.py) and the
shared fakes, with the real schedule rules, audit trail and ``Scheduler`` (over the
fake's due index, with the handlers ``bootstrap.py`` registers); only the ports are faked.
The patient ``p-1`` lives in Paris (UTC+1 in March); the clock starts on Monday
2 March 2026 at 09:00 UTC.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import reminders as rules
from chalicelib.domain.errors import ConflictError, InvalidInputError, MalformedRequestError, NotFoundError
from chalicelib.domain.events import Event, ReadingsMissed, RemindersUnanswered
from chalicelib.domain.identity import Principal, Role
from chalicelib.domain.messages import Intent
from chalicelib.domain.reminders import AcknowledgeIn, Reminder, ReminderIn, ReminderPatch
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.services.audit import AuditTrail
from chalicelib.services.reminders import ADHERENCE_DAYS, DoseAcknowledged, ReminderDeleted, ReminderService
from chalicelib.services.scheduler import Scheduler
from tests.fakes import FakeAuditLog, FakeClock, FakeOutbox, FakePatientAccess, FakePatients, FakeTimeline
from tests.fakes.reminders import FakeMeasurementPlans, FakeReminderStore

PATIENT = Principal("p-1", Role.PATIENT, "req-1")
NEIGHBOUR = Principal("p-2", Role.PATIENT, "req-2")
ANA = Principal("c-ana", Role.CLINICIAN, "req-3")  # on p-1's care team
BOB = Principal("c-bob", Role.CLINICIAN, "req-4")  # on nobody's
ADMIN = Principal("admin-1", Role.ADMIN, "req-5")


class World:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.patients = FakePatients()
        self.store = FakeReminderStore()
        self.timeline = FakeTimeline()
        self.outbox = FakeOutbox()
        self.audit_log = FakeAuditLog()
        self.published: list[Event] = []
        self._ids = itertools.count(1)
        self.service = ReminderService(
            self.store,
            FakePatientAccess(self.patients),
            FakeMeasurementPlans(self.patients),
            self.timeline,
            self.outbox,
            AuditTrail(self.audit_log, self.clock),
            self.clock,
            lambda prefix: f"{prefix}-{next(self._ids)}",
            self.published.append,
        )
        # The real tick over the fake's due index, wired as bootstrap wires the reminder handlers.
        self.scheduler = Scheduler(self.store)
        self.scheduler.register("reminder", self.service.fire)
        self.scheduler.register("missed", self.service.missed_due)
        for pid in ("p-1", "p-2"):
            self.patients.put({"patient_id": pid, "care_team": ["c-ana"], "timezone": "Europe/Paris", "language": "en"})

    def create(
        self, principal: Principal = PATIENT, pid: str = "p-1", key: str | None = None, **body: Any
    ) -> tuple[int, Reminder]:
        request = ReminderIn.model_validate({"kind": "medication", "times": ["12:00"], **body})
        return self.service.create(principal, pid, request, key)

    def tick(self, at: datetime) -> list[Intent]:
        """Move the clock to ``at``, run one tick; the intents it enqueued."""
        self.clock.now = at
        self.scheduler.tick(at)
        return self.outbox.take()

    def due_at(self, rid: str, pid: str = "p-1") -> datetime:
        stored = self.store.get(pid, rid)
        assert stored is not None
        return parse_iso(stored["due_at"])

    def doses(self, pid: str = "p-1") -> list[tuple[str, str, str]]:
        return [(d["reminder_id"], d["due_at"], d["status"]) for d in self.store.doses_between(pid, "0000", "9999")]

    def reading(self, reading_type: str, measured: datetime, pid: str = "p-1") -> None:
        self.service.reading_arrived(
            {"patient_id": pid, "type": reading_type, "measured_at": iso(measured), "received_at": iso(self.clock())}
        )


@pytest.fixture
def world() -> World:
    return World()


def utc(text: str) -> datetime:
    return parse_iso(text)


# -- creating ------------------------------------------------------------------------------------------


def test_a_patient_creates_a_reminder_due_at_its_next_local_time(world: World) -> None:
    status, reminder = world.create(reminder_id="morning", times=["12:00"])

    assert status == 201
    assert (reminder.reminder_id, reminder.patient_id, reminder.kind) == ("morning", "p-1", "medication")
    assert reminder.next_due_at == utc("2026-03-02T11:00:00.000Z")  # noon in Paris
    assert world.due_at("morning") == utc("2026-03-02T11:00:00.000Z")


def test_a_reminder_without_an_id_gets_a_fresh_one(world: World) -> None:
    _, first = world.create()
    _, second = world.create()

    assert first.reminder_id != second.reminder_id
    assert len(world.service.list(PATIENT, "p-1")) == 2


def test_a_retry_with_the_same_id_and_body_answers_200_with_the_stored_reminder_once(world: World) -> None:
    _, first = world.create(reminder_id="r-1")
    world.clock.advance(minutes=5)

    status, again = world.create(reminder_id="r-1")

    assert (status, again) == (200, first)
    assert world.store.count_live("p-1") == 1
    assert [e["action"] for e in world.audit_log.entries] == ["create"]


def test_a_retry_with_the_same_idempotency_key_answers_the_same_reminder(world: World) -> None:
    _, first = world.create(key="key-1")

    status, again = world.create(key="key-1")

    assert (status, again.reminder_id) == (200, first.reminder_id)
    assert world.store.count_live("p-1") == 1


def test_the_same_idempotency_key_from_another_patient_is_another_reminder(world: World) -> None:
    _, mine = world.create(key="key-1")
    status, theirs = world.create(NEIGHBOUR, "p-2", key="key-1")

    assert status == 201 and theirs.patient_id == "p-2" and theirs.reminder_id != mine.reminder_id
    assert world.store.count_live("p-1") == world.store.count_live("p-2") == 1


@pytest.mark.parametrize("change", [{"times": ["13:00"]}, {"label": "Other"}, {"kind": "custom"}, {"active": False}])
def test_a_different_body_under_the_same_id_is_a_conflict(world: World, change: dict[str, Any]) -> None:
    world.create(reminder_id="r-1")

    with pytest.raises(ConflictError):
        world.create(reminder_id="r-1", **change)
    assert world.store.get("p-1", "r-1")["times"] == ["12:00"]


def test_a_different_body_under_the_same_idempotency_key_is_a_conflict(world: World) -> None:
    world.create(key="key-1")

    with pytest.raises(ConflictError):
        world.create(key="key-1", times=["18:00"])


def test_a_patient_may_have_at_most_max_reminders(world: World) -> None:
    for n in range(rules.MAX_REMINDERS):
        world.create(reminder_id=f"r-{n}")

    with pytest.raises(InvalidInputError) as refused:
        world.create(reminder_id="one-too-many")

    assert [e.field for e in refused.value.errors] == ["reminder_id"]
    assert world.store.count_live("p-1") == rules.MAX_REMINDERS


def test_a_replay_at_the_cap_still_answers_200(world: World) -> None:
    for n in range(rules.MAX_REMINDERS):
        world.create(reminder_id=f"r-{n}")

    status, again = world.create(reminder_id="r-3")

    assert (status, again.reminder_id) == (200, "r-3")


def test_a_changed_body_at_the_cap_is_refused_as_over_the_cap(world: World) -> None:
    for n in range(rules.MAX_REMINDERS):
        world.create(reminder_id=f"r-{n}")

    with pytest.raises(InvalidInputError):
        world.create(reminder_id="r-3", times=["07:00"])


def test_deleted_reminders_do_not_count_toward_the_cap(world: World) -> None:
    for n in range(rules.MAX_REMINDERS):
        world.create(reminder_id=f"r-{n}")
    world.service.delete(PATIENT, "p-1", "r-0")

    status, _ = world.create(reminder_id="r-new")

    assert status == 201


def test_the_cap_is_per_patient(world: World) -> None:
    for n in range(rules.MAX_REMINDERS):
        world.create(reminder_id=f"r-{n}")

    status, _ = world.create(NEIGHBOUR, "p-2", reminder_id="r-0")

    assert status == 201


def test_a_deleted_reminders_id_may_be_used_again(world: World) -> None:
    world.create(reminder_id="r-1")
    world.service.delete(PATIENT, "p-1", "r-1")

    status, again = world.create(reminder_id="r-1", times=["20:00"])

    assert (status, again.times) == (201, ["20:00"])


def test_an_inactive_reminder_is_stored_but_never_due(world: World) -> None:
    _, reminder = world.create(reminder_id="r-1", active=False)

    assert reminder.next_due_at is None
    assert world.tick(world.clock() + timedelta(days=8)) == []


def test_a_label_is_marked_with_who_wrote_it(world: World) -> None:
    _, mine = world.create(label="My pills")
    _, staffs = world.create(ANA, label="Metformin 500 mg")
    _, none = world.create()

    assert (mine.label_by, staffs.label_by, none.label_by) == ("patient", "staff", None)


def test_a_measurement_reminder_marks_the_plan_and_starts_watching_for_missed_readings(world: World) -> None:
    world.create(kind="measure_glucose", times=["07:00"])

    assert world.patients.get("p-1")["measurement_plan"] is True
    watch = world.store.watch("p-1")
    assert watch is not None
    assert (watch["anchor"], watch["stage"]) == (iso(world.clock()), 0)
    assert watch["due_at"] == iso(world.clock() + rules.MISSED_NUDGE_AFTER)


def test_a_medication_reminder_starts_no_watch(world: World) -> None:
    world.create(kind="medication")

    assert world.store.watch("p-1") is None
    assert "measurement_plan" not in world.patients.get("p-1")


# -- who may see and change them ------------------------------------------------------------------------


def test_a_patient_sees_only_their_own_reminders(world: World) -> None:
    world.create(reminder_id="mine")
    world.create(NEIGHBOUR, "p-2", reminder_id="theirs")

    assert [r.reminder_id for r in world.service.list(PATIENT, "p-1")] == ["mine"]
    with pytest.raises(NotFoundError):
        world.service.list(PATIENT, "p-2")
    with pytest.raises(NotFoundError):
        world.service.get(PATIENT, "p-2", "theirs")


def test_a_patient_cannot_create_a_reminder_for_another(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.create(PATIENT, "p-2")
    assert world.store.count_live("p-2") == 0


OPERATIONS = {
    "create": lambda w, who: w.create(who, reminder_id="x"),
    "list": lambda w, who: w.service.list(who, "p-1"),
    "get": lambda w, who: w.service.get(who, "p-1", "r-1"),
    "patch": lambda w, who: w.service.patch(who, "p-1", "r-1", ReminderPatch(times=["06:00"])),
    "delete": lambda w, who: w.service.delete(who, "p-1", "r-1"),
    "acknowledge": lambda w, who: w.service.acknowledge(who, "p-1", "r-1", AcknowledgeIn()),
    "adherence": lambda w, who: w.service.adherence(who, "p-1", None),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_clinician_outside_the_care_team_gets_404(world: World, operation: str) -> None:
    world.create(reminder_id="r-1")

    with pytest.raises(NotFoundError):
        OPERATIONS[operation](world, BOB)
    assert world.store.get("p-1", "r-1") is not None
    assert world.store.count_live("p-1") == 1


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_another_patient_gets_404(world: World, operation: str) -> None:
    world.create(reminder_id="r-1")

    with pytest.raises(NotFoundError):
        OPERATIONS[operation](world, NEIGHBOUR)


def test_a_patient_that_does_not_exist_is_404(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.service.list(ADMIN, "p-nobody")


@pytest.mark.parametrize("who", [ANA, ADMIN], ids=["care-team", "admin"])
def test_the_care_team_and_an_admin_manage_a_patients_reminders(world: World, who: Principal) -> None:
    status, created = world.create(who, reminder_id="r-1")
    changed = world.service.patch(who, "p-1", "r-1", ReminderPatch(times=["08:00"]))

    assert status == 201 and created.patient_id == "p-1"
    assert world.service.get(who, "p-1", "r-1") == changed
    assert world.service.delete(who, "p-1", "r-1") == ReminderDeleted(deleted="r-1")


@pytest.mark.parametrize("operation", ["get", "patch", "delete", "acknowledge"])
def test_an_unknown_reminder_is_404(world: World, operation: str) -> None:
    world.create(reminder_id="other")

    with pytest.raises(NotFoundError):
        OPERATIONS[operation](world, PATIENT)


def test_every_read_and_change_is_audited_for_the_patient(world: World) -> None:
    world.create(reminder_id="r-1")
    world.service.list(ANA, "p-1")
    world.service.get(ANA, "p-1", "r-1")
    world.service.patch(ANA, "p-1", "r-1", ReminderPatch(times=["08:00"]))
    world.service.delete(PATIENT, "p-1", "r-1")

    assert [(e["actor"], e["action"], e["resource"], e["patient_id"]) for e in world.audit_log.entries] == [
        ("p-1", "create", "reminder", "p-1"),
        ("c-ana", "list", "reminder", "p-1"),
        ("c-ana", "read", "reminder", "p-1"),
        ("c-ana", "update", "reminder", "p-1"),
        ("p-1", "delete", "reminder", "p-1"),
    ]
    assert world.audit_log.entries[3]["detail"] == {"fields": ["times"]}


# -- changing them ---------------------------------------------------------------------------------------


def test_a_patch_reschedules_the_reminder(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])
    world.clock.advance(minutes=1)

    changed = world.service.patch(PATIENT, "p-1", "r-1", ReminderPatch(times=["18:00"], days=["tue"]))

    assert (changed.times, changed.days) == (["18:00"], ["tue"])
    assert changed.next_due_at == utc("2026-03-03T17:00:00.000Z")
    assert changed.updated_at == world.clock()
    assert world.due_at("r-1") == utc("2026-03-03T17:00:00.000Z")


def test_a_repeated_patch_changes_nothing_and_answers_the_same(world: World) -> None:
    world.create(reminder_id="r-1")
    world.clock.advance(minutes=1)
    first = world.service.patch(PATIENT, "p-1", "r-1", ReminderPatch(times=["18:00"]))
    world.clock.advance(minutes=1)

    again = world.service.patch(PATIENT, "p-1", "r-1", ReminderPatch(times=["18:00"]))

    assert again == first
    assert [e["action"] for e in world.audit_log.entries].count("update") == 1


def test_pausing_a_reminder_takes_it_off_the_tick_and_resuming_puts_it_back(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])

    paused = world.service.patch(PATIENT, "p-1", "r-1", ReminderPatch(active=False))
    assert paused.next_due_at is None
    assert world.tick(utc("2026-03-02T11:00:00.000Z")) == []

    resumed = world.service.patch(PATIENT, "p-1", "r-1", ReminderPatch(active=True))
    assert resumed.next_due_at == utc("2026-03-03T11:00:00.000Z")


def test_clearing_a_label_clears_its_author(world: World) -> None:
    world.create(ANA, reminder_id="r-1", label="Metformin")

    cleared = world.service.patch(ANA, "p-1", "r-1", ReminderPatch(label=None))

    assert (cleared.label, cleared.label_by) == (None, None)
    stored = world.store.get("p-1", "r-1")
    assert "label" not in stored and "label_by" not in stored


def test_a_patient_relabelling_a_staff_label_makes_it_theirs(world: World) -> None:
    world.create(ANA, reminder_id="r-1", label="Metformin")

    relabelled = world.service.patch(PATIENT, "p-1", "r-1", ReminderPatch(label="the white pill"))

    assert relabelled.label_by == "patient"


def test_a_patch_keeps_the_unanswered_streak(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])
    world.tick(utc("2026-03-02T11:00:00.000Z"))

    world.service.patch(PATIENT, "p-1", "r-1", ReminderPatch(times=["13:00"]))

    assert world.store.get("p-1", "r-1")["unanswered"] == 1


def test_a_move_to_another_time_zone_reschedules_every_reminder(world: World) -> None:
    world.create(reminder_id="a", times=["12:00"])
    world.create(reminder_id="b", times=["20:00"])

    world.service.timezone_changed("p-1", "America/New_York")

    assert world.due_at("a") == utc("2026-03-02T17:00:00.000Z")
    assert world.due_at("b") == utc("2026-03-03T01:00:00.000Z")
    assert {r.reminder_id for r in world.service.list(PATIENT, "p-1")} == {"a", "b"}
    assert world.store.get("p-1", "a")["timezone"] == "America/New_York"


# -- deleting ---------------------------------------------------------------------------------------------


def test_deleting_is_idempotent(world: World) -> None:
    world.create(reminder_id="r-1")

    first = world.service.delete(PATIENT, "p-1", "r-1")
    world.clock.advance(minutes=5)
    again = world.service.delete(PATIENT, "p-1", "r-1")

    assert first == again == ReminderDeleted(deleted="r-1")
    assert first.model_dump(mode="json") == {"deleted": "r-1"}  # the body the API has always answered
    assert world.store.get("p-1", "r-1", include_deleted=True)["deleted_at"] == "2026-03-02T09:00:00.000Z"


def test_a_deleted_reminder_is_gone_and_never_fires(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])
    world.create(reminder_id="r-2", times=["12:00"])

    world.service.delete(PATIENT, "p-1", "r-1")

    assert [r.reminder_id for r in world.service.list(PATIENT, "p-1")] == ["r-2"]
    with pytest.raises(NotFoundError):
        world.service.get(PATIENT, "p-1", "r-1")
    with pytest.raises(NotFoundError):
        world.service.patch(PATIENT, "p-1", "r-1", ReminderPatch(times=["06:00"]))
    assert [i.intent_id for i in world.tick(utc("2026-03-02T11:00:00.000Z"))] == [
        "reminder:p-1:r-2:2026-03-02T11:00:00.000Z"
    ]


def test_a_reminder_deleted_after_the_tick_read_it_does_not_fire(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])
    now = utc("2026-03-02T11:00:00.000Z")
    [item] = world.store.due(now)

    world.service.delete(PATIENT, "p-1", "r-1")
    world.service.fire(item, now)

    assert world.outbox.take() == [] and world.doses() == []


# -- firing ------------------------------------------------------------------------------------------------


def test_a_due_reminder_fires_once_and_moves_to_its_next_occurrence(world: World) -> None:
    world.create(ANA, reminder_id="r-1", times=["12:00"], label="Metformin 500 mg")
    noon = utc("2026-03-02T11:00:00.000Z")

    [intent] = world.tick(noon)

    assert intent.intent_id == "reminder:p-1:r-1:2026-03-02T11:00:00.000Z"
    assert (intent.recipient.kind, intent.recipient.id, intent.patient_id) == ("patient", "p-1", "p-1")
    assert intent.template == "reminder_medication"
    assert intent.params == {"label": "Metformin 500 mg", "scheduled": "12:00", "due_at": "2026-03-02T11:00:00.000Z"}
    assert world.doses() == [("r-1", "2026-03-02T11:00:00.000Z", "due")]
    assert world.due_at("r-1") == utc("2026-03-03T11:00:00.000Z")
    assert [(e["kind"], e["ref"]) for e in world.timeline.of("p-1")] == [
        ("reminder_sent", {"reminder_id": "r-1", "due_at": "2026-03-02T11:00:00.000Z"})
    ]


def test_a_second_firing_of_the_same_occurrence_sends_nothing(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])
    noon = utc("2026-03-02T11:00:00.000Z")
    [item] = world.store.due(noon)

    world.service.fire(item, noon)
    world.service.fire(item, noon)  # a stale, repeated tick with the item it read
    world.service.fire(item, noon + timedelta(minutes=1))

    assert len(world.outbox.intents) == 1
    assert len(world.doses()) == 1
    assert world.store.get("p-1", "r-1")["unanswered"] == 1


def test_two_ticks_in_the_same_minute_fire_once(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])
    noon = utc("2026-03-02T11:00:00.000Z")

    first = world.tick(noon)
    again = world.tick(noon)

    assert (len(first), again) == (1, [])


def test_a_reminder_is_not_sent_before_it_is_due(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])

    assert world.tick(utc("2026-03-02T10:59:00.000Z")) == []


def test_a_late_tick_fires_once_for_the_newest_missed_occurrence(world: World) -> None:
    world.create(reminder_id="r-1", times=["08:00", "12:00", "20:00"])  # first due 12:00 today (Paris)

    # The tick slept until 11:00 Tuesday in Paris: 12:00 and 20:00 Monday and 08:00 Tuesday went by.
    sent = world.tick(utc("2026-03-03T10:00:00.000Z"))

    assert [i.intent_id for i in sent] == ["reminder:p-1:r-1:2026-03-03T07:00:00.000Z"]
    assert sent[0].params["scheduled"] == "08:00"
    assert world.doses() == [("r-1", "2026-03-03T07:00:00.000Z", "due")]
    assert world.due_at("r-1") == utc("2026-03-03T11:00:00.000Z")


def test_each_occurrence_has_its_own_intent_and_dose(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])

    monday = world.tick(utc("2026-03-02T11:00:00.000Z"))
    tuesday = world.tick(utc("2026-03-03T11:00:00.000Z"))

    assert [i.intent_id for i in monday + tuesday] == [
        "reminder:p-1:r-1:2026-03-02T11:00:00.000Z",
        "reminder:p-1:r-1:2026-03-03T11:00:00.000Z",
    ]
    assert [d[1] for d in world.doses()] == ["2026-03-02T11:00:00.000Z", "2026-03-03T11:00:00.000Z"]


def test_a_reminder_on_chosen_weekdays_skips_the_others(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"], days=["fri"])

    assert world.due_at("r-1") == utc("2026-03-06T11:00:00.000Z")


def test_a_label_the_patient_typed_never_leaves_the_app(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"], label="the pill for my heart")

    [intent] = world.tick(utc("2026-03-02T11:00:00.000Z"))

    assert intent.params["label"] == ""


@pytest.mark.parametrize(
    ("kind", "template"),
    [("measure_glucose", "reminder_measure"), ("measure_bp", "reminder_measure"), ("custom", "reminder_custom")],
)
def test_each_kind_of_reminder_has_its_template(world: World, kind: str, template: str) -> None:
    world.create(reminder_id="r-1", kind=kind, times=["12:00"])

    [intent] = world.tick(utc("2026-03-02T11:00:00.000Z"))

    assert intent.template == template


def test_three_unanswered_reminders_hand_the_patient_to_a_human_once(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])
    days = [utc("2026-03-02T11:00:00.000Z") + timedelta(days=n) for n in range(6)]

    for day in days[:3]:
        world.tick(day)
    assert world.published == []
    world.tick(days[3])  # the three before it went unanswered
    world.tick(days[4])

    assert world.published == [RemindersUnanswered("p-1", "r-1:2026-03-05T11:00:00.000Z", days[3])]


def test_an_answer_restarts_the_unanswered_streak(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])
    day = utc("2026-03-02T11:00:00.000Z")
    for n in range(2):
        world.tick(day + timedelta(days=n))
    world.service.taken("p-1", day + timedelta(days=1, minutes=30), "in-1")

    for n in range(2, 5):
        world.tick(day + timedelta(days=n))

    assert world.published == []
    assert world.store.get("p-1", "r-1")["unanswered"] == 3


# -- doses taken -------------------------------------------------------------------------------------------


def test_taken_by_sms_closes_the_latest_open_dose_once(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])
    noon = utc("2026-03-02T11:00:00.000Z")
    world.tick(noon)

    world.service.taken("p-1", noon + timedelta(minutes=20), "in-1")
    world.service.taken("p-1", noon + timedelta(minutes=25), "in-2")  # a second TAKEN: nothing more to close

    [dose] = world.store.doses_between("p-1", "0000", "9999")
    assert (dose["status"], dose["done_by"], dose["done_at"]) == ("done", "sms", iso(noon + timedelta(minutes=20)))
    assert [e["kind"] for e in world.timeline.of("p-1")] == ["reminder_sent", "reminder_done"]


def test_taken_closes_only_the_newest_of_several_open_doses(world: World) -> None:
    world.create(reminder_id="a", times=["12:00"])
    world.create(reminder_id="b", times=["14:00"])
    world.tick(utc("2026-03-02T11:00:00.000Z"))
    world.tick(utc("2026-03-02T13:00:00.000Z"))

    world.service.taken("p-1", utc("2026-03-02T13:10:00.000Z"), "in-1")

    assert world.doses() == [("a", "2026-03-02T11:00:00.000Z", "due"), ("b", "2026-03-02T13:00:00.000Z", "done")]


def test_taken_more_than_twelve_hours_after_a_dose_closes_nothing(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])
    noon = utc("2026-03-02T11:00:00.000Z")
    world.tick(noon)

    world.service.taken("p-1", noon + timedelta(hours=12, minutes=1), "in-1")

    assert world.doses() == [("r-1", "2026-03-02T11:00:00.000Z", "due")]


def test_taken_with_no_dose_open_changes_nothing(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])

    world.service.taken("p-1", world.clock(), "in-1")

    assert world.doses() == [] and world.timeline.of("p-1") == []


def test_acknowledging_in_the_app_closes_that_reminders_dose_and_a_repeat_answers_the_same(world: World) -> None:
    world.create(reminder_id="a", times=["12:00"])
    world.create(reminder_id="b", times=["12:00"])
    world.tick(utc("2026-03-02T11:00:00.000Z"))
    world.clock.advance(minutes=10)

    first = world.service.acknowledge(PATIENT, "p-1", "a", AcknowledgeIn())
    world.clock.advance(minutes=1)
    again = world.service.acknowledge(PATIENT, "p-1", "a", AcknowledgeIn())

    assert first == again == DoseAcknowledged(reminder_id="a", due_at="2026-03-02T11:00:00.000Z", status="done")
    assert world.doses() == [("a", "2026-03-02T11:00:00.000Z", "done"), ("b", "2026-03-02T11:00:00.000Z", "due")]
    assert [e["action"] for e in world.audit_log.entries].count("acknowledge") == 1


def test_an_acknowledgment_at_a_given_time_repeated_answers_the_same(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])
    world.tick(utc("2026-03-02T11:00:00.000Z"))
    request = AcknowledgeIn(at=utc("2026-03-02T11:05:00.000Z"))

    first = world.service.acknowledge(PATIENT, "p-1", "r-1", request)
    again = world.service.acknowledge(PATIENT, "p-1", "r-1", request)

    assert first == again
    assert world.store.doses_between("p-1", "0000", "9999")[0]["done_at"] == "2026-03-02T11:05:00.000Z"


def test_acknowledging_a_dose_taken_by_sms_is_a_conflict(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])
    world.tick(utc("2026-03-02T11:00:00.000Z"))
    world.service.taken("p-1", utc("2026-03-02T11:05:00.000Z"), "in-1")

    with pytest.raises(ConflictError):
        world.service.acknowledge(PATIENT, "p-1", "r-1", AcknowledgeIn())


def test_acknowledging_with_no_open_dose_is_a_conflict(world: World) -> None:
    world.create(reminder_id="r-1", times=["12:00"])

    with pytest.raises(ConflictError):
        world.service.acknowledge(PATIENT, "p-1", "r-1", AcknowledgeIn())


def test_a_reading_of_the_right_type_within_two_hours_completes_a_measurement_dose(world: World) -> None:
    world.create(reminder_id="bp", kind="measure_bp", times=["12:00"])
    world.create(reminder_id="sugar", kind="measure_glucose", times=["12:00"])
    noon = utc("2026-03-02T11:00:00.000Z")
    world.tick(noon)

    world.reading("blood_glucose", noon + timedelta(hours=1, minutes=30))

    assert world.doses() == [("bp", iso(noon), "due"), ("sugar", iso(noon), "done")]
    [done] = [d for d in world.store.doses_between("p-1", "0000", "9999") if d["status"] == "done"]
    assert done["done_by"] == "reading"


def test_a_reading_outside_the_two_hour_window_completes_nothing(world: World) -> None:
    world.create(reminder_id="sugar", kind="measure_glucose", times=["12:00"])
    noon = utc("2026-03-02T11:00:00.000Z")
    world.tick(noon)

    world.reading("blood_glucose", noon + rules.READING_WINDOW + timedelta(minutes=1))

    assert world.doses() == [("sugar", iso(noon), "due")]


# -- adherence ---------------------------------------------------------------------------------------------


def test_adherence_counts_doses_due_and_done_per_reminder(world: World) -> None:
    world.create(reminder_id="a", times=["12:00"])
    world.create(reminder_id="b", times=["18:00"])
    for n in range(2):
        noon = utc("2026-03-02T11:00:00.000Z") + timedelta(days=n)
        world.tick(noon)
        world.tick(noon + timedelta(hours=6))
        world.service.taken("p-1", noon + timedelta(hours=6, minutes=5), f"in-{n}")  # b's dose each day
    world.clock.advance(hours=1)

    report = world.service.adherence(ANA, "p-1", "7")

    assert report.days == 7
    assert [(r.reminder_id, r.due, r.done, r.pct) for r in report.reminders] == [("a", 2, 0, 0.0), ("b", 2, 2, 100.0)]
    assert (report.overall.due, report.overall.done, report.overall.pct) == (4, 2, 50.0)


def test_adherence_over_no_doses_has_no_percentage(world: World) -> None:
    report = world.service.adherence(PATIENT, "p-1", None)

    assert (report.days, report.reminders, report.overall.due, report.overall.pct) == (30, [], 0, None)


@pytest.mark.parametrize("days", ["0", "31", "٣٠", "²", "abc", "", "7.0"])
def test_adherence_windows_are_only_the_offered_ones(world: World, days: str) -> None:
    with pytest.raises(MalformedRequestError):
        world.service.adherence(PATIENT, "p-1", days)


@pytest.mark.parametrize("days", ADHERENCE_DAYS)
def test_each_offered_adherence_window_is_accepted(world: World, days: int) -> None:
    assert world.service.adherence(PATIENT, "p-1", str(days)).days == days


# -- missed readings: a nudge, then an alert -------------------------------------------------------------------


def test_no_reading_for_three_days_nudges_the_patient_once(world: World) -> None:
    world.create(reminder_id="sugar", kind="measure_glucose", times=["07:00"])
    start = world.clock()
    world.tick(start + rules.MISSED_NUDGE_AFTER - timedelta(minutes=1))

    nudges = world.tick(start + rules.MISSED_NUDGE_AFTER) + world.tick(start + rules.MISSED_NUDGE_AFTER)

    assert [(i.template, i.intent_id) for i in nudges if i.template == "missed_readings_nudge"] == [
        ("missed_readings_nudge", f"missed:p-1:{iso(start)}")
    ]
    assert world.published == []
    assert world.store.watch("p-1")["stage"] == 1


def test_no_reading_for_seven_days_publishes_readings_missed_once(world: World) -> None:
    world.create(reminder_id="sugar", kind="measure_glucose", times=["07:00"])
    start = world.clock()
    world.tick(start + rules.MISSED_NUDGE_AFTER)

    world.tick(start + rules.MISSED_ALERT_AFTER)
    world.tick(start + rules.MISSED_ALERT_AFTER + timedelta(minutes=1))
    world.tick(start + timedelta(days=30))

    assert [e for e in world.published if isinstance(e, ReadingsMissed)] == [
        ReadingsMissed("p-1", f"missed:{iso(start)}", start + rules.MISSED_ALERT_AFTER)
    ]
    assert "due_at" not in world.store.watch("p-1")


def test_a_stale_tick_of_the_watch_does_nothing(world: World) -> None:
    world.create(reminder_id="sugar", kind="measure_glucose", times=["07:00"])
    at = world.clock() + rules.MISSED_NUDGE_AFTER
    [item] = [i for i in world.store.due(at) if i["entity"] == "missed"]

    world.service.missed_due(item, at)
    world.service.missed_due(item, at)

    assert [i.template for i in world.outbox.take()] == ["missed_readings_nudge"]
    assert world.published == []


def test_a_reading_restarts_the_watch(world: World) -> None:
    world.create(reminder_id="sugar", kind="measure_glucose", times=["07:00"])
    start = world.clock()
    world.tick(start + rules.MISSED_NUDGE_AFTER)  # nudged
    measured = start + timedelta(days=5)
    world.clock.now = measured

    world.reading("blood_glucose", measured)
    world.tick(start + rules.MISSED_ALERT_AFTER)  # when the alert would have been due

    assert world.published == []
    watch = world.store.watch("p-1")
    assert (watch["anchor"], watch["stage"], watch["due_at"]) == (
        iso(measured),
        0,
        iso(measured + rules.MISSED_NUDGE_AFTER),
    )
    nudges = world.tick(measured + rules.MISSED_NUDGE_AFTER)
    assert [i.intent_id for i in nudges if i.template == "missed_readings_nudge"] == [f"missed:p-1:{iso(measured)}"]


def test_a_late_reading_older_than_the_anchor_does_not_restart_the_watch(world: World) -> None:
    world.create(reminder_id="sugar", kind="measure_glucose", times=["07:00"])
    start = world.clock()

    world.reading("blood_glucose", start - timedelta(days=1))

    assert world.store.watch("p-1")["anchor"] == iso(start)


def test_a_patient_with_no_active_measurement_reminder_is_no_longer_watched(world: World) -> None:
    world.create(reminder_id="sugar", kind="measure_glucose", times=["07:00"])
    world.service.delete(PATIENT, "p-1", "sugar")
    start = world.clock()

    sent = world.tick(start + rules.MISSED_NUDGE_AFTER)
    world.tick(start + rules.MISSED_ALERT_AFTER)

    assert sent == [] and world.published == []
    assert "due_at" not in world.store.watch("p-1")


def test_a_paused_measurement_reminder_stops_the_watch_too(world: World) -> None:
    world.create(reminder_id="sugar", kind="measure_bp", times=["07:00"])
    world.service.patch(PATIENT, "p-1", "sugar", ReminderPatch(active=False))

    assert world.tick(world.clock() + rules.MISSED_NUDGE_AFTER) == []
    assert world.store.watch("p-1")["stage"] == 2


# -- quiet monitoring (an episode paused or discharged) -------------------------------------------------


def test_a_paused_patient_s_reminders_move_on_silently_and_resuming_starts_clean(world: World) -> None:
    world.create(reminder_id="noon", times=["12:00"])
    first = world.due_at("noon")
    world.patients.records["p-1"]["episode"] = {"episode_id": "ep-1", "status": "paused"}
    for day in range(5):  # five days in hospital
        assert world.tick(first + timedelta(days=day)) == []
    assert world.doses() == []
    assert world.published == []

    assert world.store.get("p-1", "noon")["unanswered"] == 5  # type: ignore[index]  # the fires moved it on
    world.patients.records["p-1"]["episode"] = {"episode_id": "ep-1", "status": "open"}
    world.service.monitoring_resumed("p-1", first + timedelta(days=4, hours=1))
    # Skipped fires are not ignored reminders.
    assert world.store.get("p-1", "noon")["unanswered"] == 0  # type: ignore[index]
    assert world.due_at("noon") == first + timedelta(days=5)  # the next occurrence: nothing to catch up
    assert len(world.tick(first + timedelta(days=5))) == 1
    assert world.published == []
