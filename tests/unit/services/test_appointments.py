"""Appointments on the fakes: booking, idempotent retries, who may change what, messages, reminders, SMS replies.

The fast tier of tests/e2e/test_appointments.py: ``AppointmentService`` over
``FakeAppointmentStore`` (tests/fakes/appointments.py), with the real booking
window, reminder rules and ``Scheduler`` (ticking over the fake store's due
index, as bootstrap registers ``remind_due``); the timeline, outbox and audit log
are the shared fakes, published domain events a list.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain.appointments import AppointmentIn, AppointmentPatch
from chalicelib.domain.errors import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from chalicelib.domain.events import RescheduleRequested
from chalicelib.domain.identity import Principal, Role
from chalicelib.domain.timeutil import iso
from chalicelib.services.appointments import AppointmentService
from chalicelib.services.audit import AuditTrail
from chalicelib.services.scheduler import Scheduler
from tests.fakes import FakeAuditLog, FakeClock, FakeOutbox, FakePatientAccess, FakePatients, FakeTimeline
from tests.fakes.appointments import FakeAppointmentStore

PATIENT = Principal("p-1", Role.PATIENT, "req-1")
ANA = Principal("c-ana", Role.CLINICIAN, "req-2")  # on p-1's care team
ZED = Principal("c-zed", Role.CLINICIAN, "req-3")  # also on p-1's care team
BOB = Principal("c-bob", Role.CLINICIAN, "req-4")  # on nobody's
ADMIN = Principal("admin-1", Role.ADMIN, "req-5")
NEW_YORK = ZoneInfo("America/New_York")
VISIT = datetime.fromisoformat("2026-03-05T16:00:00+00:00")  # the default start: three days after the clock's now


class World:
    def __init__(self, store: FakeAppointmentStore | None = None) -> None:
        self.clock = FakeClock()  # 2026-03-02 09:00Z
        self.patients = FakePatients()
        self.store = store or FakeAppointmentStore()
        self.timeline = FakeTimeline()
        self.outbox = FakeOutbox()
        self.audit_log = FakeAuditLog()
        self.events: list[object] = []
        self._ids = itertools.count(1)
        self.service = AppointmentService(
            self.store,
            FakePatientAccess(self.patients),
            self.patients,
            self.timeline,
            self.outbox,
            AuditTrail(self.audit_log, self.clock),
            self.clock,
            lambda prefix: f"{prefix}-{next(self._ids)}",
            self.events.append,
        )
        self.scheduler = Scheduler(self.store)
        self.scheduler.register("appointment", self.service.remind_due)
        self.patients.put(
            {"patient_id": "p-1", "care_team": ["c-ana", "c-zed"], "timezone": "America/New_York", "language": "en"}
        )

    def starts(self, days: float = 0, hours: float = 7) -> datetime:
        """A start ``days`` ahead, at 16:00Z by default (11:00 in New York: no reminder falls in quiet hours)."""
        return self.clock() + timedelta(days=days, hours=hours)

    def book(
        self, principal: Principal = ANA, key: str | None = None, **fields: Any
    ) -> tuple[int, Any]:  # (status, Appointment)
        body = {"appointment_id": "v-1", "starts_at": iso(VISIT), "kind": "in_person", **fields}
        body = {k: v for k, v in body.items() if v is not None}
        return self.service.book(principal, "p-1", AppointmentIn.model_validate(body), key)

    def patch(self, principal: Principal = ANA, appointment_id: str = "v-1", **fields: Any) -> Any:
        return self.service.patch(principal, "p-1", appointment_id, AppointmentPatch.model_validate(fields))

    def templates(self) -> list[str]:
        return [i.template for i in self.outbox.take()]

    def tick(self, at: datetime) -> None:
        self.clock.now = at
        self.scheduler.tick(at)


@pytest.fixture
def world() -> World:
    return World()


# -- booking ------------------------------------------------------------------------------------------


def test_the_care_team_books_an_appointment_with_reminders_a_day_and_two_hours_before(world: World) -> None:
    starts = VISIT

    status, appointment = world.book(starts_at=iso(starts))

    assert status == 201 and appointment.status == "scheduled"
    assert [r.due_at for r in appointment.reminders] == [starts - timedelta(days=1), starts - timedelta(hours=2)]
    assert world.timeline.of("p-1", "note")[0]["summary"].startswith("in_person appointment booked")
    assert world.audit_log.entries[-1]["action"] == "create"


@pytest.mark.parametrize("offset", [timedelta(days=-365), timedelta(days=5 * 365)])
def test_a_start_inside_the_window_is_accepted(world: World, offset: timedelta) -> None:
    assert world.book(starts_at=iso(world.clock() + offset))[0] == 201


@pytest.mark.parametrize("offset", [timedelta(days=-367), timedelta(days=5 * 366 + 1)])
def test_a_start_outside_the_window_is_refused_and_nothing_is_stored(world: World, offset: timedelta) -> None:
    with pytest.raises(InvalidInputError) as raised:
        world.book(starts_at=iso(world.clock() + offset))
    assert raised.value.errors[0].field == "starts_at"
    assert world.store.writes == 0


def test_a_reminder_already_past_at_booking_is_skipped(world: World) -> None:
    _, appointment = world.book(starts_at=iso(world.starts(hours=9)))

    assert [r.due_at for r in appointment.reminders] == [world.starts(hours=7)]


def test_a_reminder_in_the_patients_quiet_hours_moves_earlier(world: World) -> None:
    # 08:30 New York (13:30Z) minus 2 h is 06:30, inside the default 21:00-08:00 quiet hours: sent at 20:59 the eve.
    starts = datetime.fromisoformat("2026-03-05T08:30:00-05:00")

    _, appointment = world.book(starts_at=starts.isoformat(), remind_before=["PT2H"])

    assert [iso(r.due_at) for r in appointment.reminders] == ["2026-03-05T01:59:00.000Z"]


def test_a_patient_may_not_book(world: World) -> None:
    with pytest.raises(ForbiddenError):
        world.book(PATIENT)


def test_a_clinician_outside_the_care_team_gets_404(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.book(BOB)
    with pytest.raises(NotFoundError):
        world.service.list(BOB, "p-1")


def test_booking_again_with_the_same_id_and_body_answers_200_the_stored_appointment(world: World) -> None:
    _, first = world.book()
    world.clock.advance(minutes=5)

    status, again = world.book()

    assert status == 200 and again == first
    assert world.store.writes == 1 and len(world.timeline.of("p-1")) == 1


def test_booking_again_with_the_same_id_and_another_body_is_a_conflict(world: World) -> None:
    world.book()

    with pytest.raises(ConflictError):
        world.book(kind="video")


def test_an_idempotency_key_without_an_id_makes_a_retry_land_on_the_same_appointment(world: World) -> None:
    status, first = world.book(appointment_id=None, key="k-1")
    status_again, again = world.book(appointment_id=None, key="k-1")
    _, other = world.book(appointment_id=None, key="k-2")

    assert (status, status_again) == (201, 200) and again.appointment_id == first.appointment_id
    assert other.appointment_id != first.appointment_id


def test_the_same_idempotency_key_from_another_clinician_is_another_appointment(world: World) -> None:
    _, mine = world.book(appointment_id=None, key="k-1")
    _, theirs = world.book(ZED, appointment_id=None, key="k-1")

    assert mine.appointment_id != theirs.appointment_id


def test_without_id_or_key_every_booking_is_new(world: World) -> None:
    _, a = world.book(appointment_id=None)
    _, b = world.book(appointment_id=None)

    assert a.appointment_id != b.appointment_id


# -- reading ------------------------------------------------------------------------------------------


def test_the_list_is_by_start_time_and_the_patient_sees_their_own(world: World) -> None:
    world.book(appointment_id="a-late", starts_at=iso(world.starts(days=9)))
    world.book(appointment_id="b-soon", starts_at=iso(world.starts(days=2)))

    assert [a.appointment_id for a in world.service.list(PATIENT, "p-1")] == ["b-soon", "a-late"]


def test_a_patient_cannot_read_another_patients_appointments(world: World) -> None:
    world.patients.put({"patient_id": "p-2", "care_team": ["c-ana"]})
    with pytest.raises(NotFoundError):
        world.service.list(PATIENT, "p-2")


def test_an_unknown_appointment_is_404(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.service.get(ANA, "p-1", "nope")


# -- changing: who may, and when ------------------------------------------------------------------------


def test_a_patient_may_confirm(world: World) -> None:
    world.book()

    assert world.patch(PATIENT, status="confirmed").status == "confirmed"
    assert world.timeline.of("p-1", "note")[-1]["summary"] == "appointment confirmed"


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "completed"},
        {"location": "Room 4"},
        {"status": "confirmed", "location": "Room 4"},
        {"remind_before": ["PT1H"]},
    ],
)
def test_a_patient_may_only_confirm(world: World, fields: dict[str, Any]) -> None:
    world.book()
    with pytest.raises(ForbiddenError):
        world.patch(PATIENT, **fields)
    with pytest.raises(ForbiddenError):
        world.service.cancel(PATIENT, "p-1", "v-1")


@pytest.mark.parametrize("closing", ["cancel", "complete"])
def test_a_closed_appointment_cannot_be_changed(world: World, closing: str) -> None:
    world.book()
    if closing == "cancel":
        world.service.cancel(ANA, "p-1", "v-1")
    else:
        world.patch(status="completed")

    with pytest.raises(ConflictError):
        world.patch(location="Room 4")
    with pytest.raises(ConflictError):
        world.patch(PATIENT, status="confirmed")


def test_a_closed_appointment_answers_409_before_the_window_check(world: World) -> None:
    world.book()
    world.service.cancel(ANA, "p-1", "v-1")

    with pytest.raises(ConflictError):
        world.patch(starts_at=iso(world.starts(days=4000)))


def test_a_completed_appointment_is_not_cancelled(world: World) -> None:
    world.book()
    world.patch(status="completed")

    with pytest.raises(ConflictError):
        world.service.cancel(ANA, "p-1", "v-1")


def test_re_sending_the_unchanged_start_is_not_refused_once_it_left_the_window(world: World) -> None:
    starts = world.starts(days=-300)
    world.book(starts_at=iso(starts))
    world.clock.advance(days=100)  # the stored start is now more than a year ago

    updated = world.patch(starts_at=iso(starts), location="Room 4")

    assert updated.location == "Room 4" and updated.starts_at == starts


def test_a_new_start_outside_the_window_is_refused(world: World) -> None:
    world.book()

    with pytest.raises(InvalidInputError):
        world.patch(starts_at=iso(world.starts(days=-400)))


def test_a_repeated_patch_changes_nothing_and_answers_the_same(world: World) -> None:
    world.book()
    first = world.patch(location="Room 4")
    writes = world.store.writes
    world.clock.advance(minutes=1)

    again = world.patch(location="Room 4")

    assert again == first and world.store.writes == writes


class RacingStore(FakeAppointmentStore):
    """Another request changes the appointment right after each read of it."""

    def get(self, patient_id: str, appointment_id: str) -> dict[str, Any] | None:
        read = super().get(patient_id, appointment_id)
        if read is not None:
            self.appointments[(patient_id, appointment_id)]["updated_at"] = "2026-03-02T09:00:01.000Z"
        return read


def test_a_patch_of_an_appointment_changed_meanwhile_is_a_conflict() -> None:
    world = World(RacingStore())
    world.book()

    with pytest.raises(ConflictError):
        world.patch(location="Room 4")
    assert world.templates() == []


# -- messages: reschedule, cancel --------------------------------------------------------------------------


def test_rescheduling_tells_the_patient_resets_reminders_and_unconfirms(world: World) -> None:
    world.book()
    world.patch(PATIENT, status="confirmed")
    world.outbox.take()
    new_start = world.starts(days=5)

    updated = world.patch(starts_at=iso(new_start))

    [intent] = world.outbox.take()
    assert intent.template == "appointment_rescheduled" and intent.recipient.id == "p-1"
    assert intent.intent_id == f"appt:p-1:v-1:rescheduled:{iso(new_start)}"
    when = new_start.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M")
    # Which visit and start it speaks of: delivery sends it only if still so (a notice held by quiet hours).
    assert intent.params == {"when": when, "appointment_id": "v-1", "starts_at": iso(new_start)}
    assert updated.status == "scheduled"
    assert [r.due_at for r in updated.reminders] == [new_start - timedelta(days=1), new_start - timedelta(hours=2)]
    assert world.timeline.of("p-1", "note")[-1]["summary"] == f"appointment rescheduled to {iso(new_start)}"


def test_a_video_visits_join_link_goes_by_push_or_email_only(world: World) -> None:
    world.book(kind="video", join_url="https://visit.example/v-1")

    world.patch(starts_at=iso(world.starts(days=4)))

    rescheduled, link = world.outbox.take()
    assert rescheduled.template == "appointment_rescheduled" and rescheduled.only_channels is None
    assert "join_url" not in rescheduled.params
    assert link.template == "appointment_join_link" and link.only_channels == ["push", "email"]
    assert link.params["join_url"] == "https://visit.example/v-1"


def test_changing_the_reminder_offsets_reschedules_the_reminders(world: World) -> None:
    starts = VISIT
    world.book(starts_at=iso(starts))

    updated = world.patch(remind_before=["PT1H"])

    assert [r.due_at for r in updated.reminders] == [starts - timedelta(hours=1)]
    assert world.templates() == ["appointment_rescheduled"]


def test_a_location_change_sends_nothing(world: World) -> None:
    world.book()

    world.patch(location="Room 4")

    assert world.templates() == []


def test_cancelling_tells_the_patient_once_without_the_link(world: World) -> None:
    world.book(kind="video", join_url="https://visit.example/v-1")

    cancelled = world.service.cancel(ANA, "p-1", "v-1")
    again = world.service.cancel(ANA, "p-1", "v-1")

    assert cancelled.status == "cancelled" and again == cancelled
    assert world.templates() == ["appointment_cancelled"]
    assert world.timeline.of("p-1", "note")[-1]["summary"] == "appointment cancelled"


def test_a_clinician_outside_the_care_team_cannot_cancel(world: World) -> None:
    world.book()
    with pytest.raises(NotFoundError):
        world.service.cancel(BOB, "p-1", "v-1")


# -- reminders before the appointment ---------------------------------------------------------------------


def test_each_reminder_goes_once_at_its_time_and_never_at_or_after_the_start(world: World) -> None:
    starts = VISIT
    world.book(starts_at=iso(starts))
    day_before, two_hours = starts - timedelta(days=1), starts - timedelta(hours=2)

    world.tick(day_before - timedelta(minutes=1))
    assert world.templates() == []
    world.tick(day_before)
    world.tick(day_before + timedelta(minutes=1))
    assert world.templates() == ["appointment_reminder"]
    world.tick(two_hours)
    world.tick(starts + timedelta(hours=1))
    assert world.templates() == ["appointment_reminder"]

    reminders = world.service.get(ANA, "p-1", "v-1").reminders
    assert all(r.sent for r in reminders)
    assert len(world.timeline.of("p-1", "reminder_sent")) == 2


def test_a_late_tick_sends_the_reminders_it_missed_as_one(world: World) -> None:
    starts = VISIT
    world.book(starts_at=iso(starts))

    world.tick(starts - timedelta(hours=1))

    [intent] = world.outbox.take()
    assert intent.template == "appointment_reminder"
    assert intent.intent_id == f"appt:p-1:v-1:reminder:{iso(starts - timedelta(hours=2))}"


def test_a_video_reminder_carries_the_link_by_push_or_email(world: World) -> None:
    starts = VISIT
    world.book(kind="video", join_url="https://visit.example/v-1", starts_at=iso(starts))

    world.tick(starts - timedelta(days=1))

    assert world.templates() == ["appointment_reminder", "appointment_join_link"]


def test_a_cancelled_appointment_sends_no_reminder(world: World) -> None:
    starts = VISIT
    world.book(starts_at=iso(starts))
    world.service.cancel(ANA, "p-1", "v-1")
    world.outbox.take()

    world.tick(starts - timedelta(hours=2))

    assert world.templates() == []


def test_a_rescheduled_appointment_reminds_for_the_new_time_only(world: World) -> None:
    starts = VISIT
    world.book(starts_at=iso(starts))
    later = starts + timedelta(days=2)
    world.patch(starts_at=iso(later))
    world.outbox.take()

    world.tick(starts - timedelta(days=1))
    assert world.templates() == []
    world.tick(later - timedelta(days=1))
    [intent] = world.outbox.take()
    assert intent.intent_id == f"appt:p-1:v-1:reminder:{iso(later - timedelta(days=1))}"


def test_two_handlers_racing_over_one_due_reminder_send_it_once(world: World) -> None:
    starts = VISIT
    world.book(starts_at=iso(starts))
    now = starts - timedelta(days=1)
    [item] = [i for page in world.store.due_pages(_shard_of(world), now) for i in page]

    world.service.remind_due(item, now)
    world.service.remind_due(item, now)  # the same due item, handled again (a redelivered batch)

    assert world.templates() == ["appointment_reminder"]


def _shard_of(world: World) -> str:
    from tests.fakes.appointments import appointment_shard

    return appointment_shard("p-1", "v-1")


# -- SMS replies --------------------------------------------------------------------------------------------


def test_c_by_sms_confirms_the_next_upcoming_appointment(world: World) -> None:
    world.book(appointment_id="later", starts_at=iso(world.starts(days=6)))
    world.book(appointment_id="sooner", starts_at=iso(world.starts(days=2)))

    world.service.reply("p-1", world.clock(), "in-1", "confirm")

    statuses = {a.appointment_id: a.status for a in world.service.list(ANA, "p-1")}
    assert statuses == {"sooner": "confirmed", "later": "scheduled"}
    assert world.events == []


def test_r_by_sms_asks_to_reschedule_and_publishes_it_once_per_text(world: World) -> None:
    world.book()

    world.service.reply("p-1", world.clock(), "in-7", "reschedule")

    assert world.service.get(ANA, "p-1", "v-1").status == "reschedule_requested"
    assert world.events == [RescheduleRequested("p-1", "reschedule-v-1-in-7", world.clock())]


def test_a_reply_with_no_upcoming_open_appointment_changes_nothing(world: World) -> None:
    world.book(appointment_id="past", starts_at=iso(world.starts(days=-1)))
    world.book(appointment_id="gone", starts_at=iso(world.starts(days=2)))
    world.service.cancel(ANA, "p-1", "gone")
    writes = world.store.writes

    world.service.reply("p-1", world.clock(), "in-1", "confirm")

    assert world.store.writes == writes and world.events == []
