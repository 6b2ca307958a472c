"""The patient's record on the in-memory fakes of its ports: notes once per id, what a patient sees, paging.

``PatientRecordService`` over ``FakeConversationStore`` (the timeline and notes) and
``FakeSummaryStore`` (tests/fakes/conversations.py), a real ``PatientService`` over
``FakePatientStore`` (scope) and a real ``AuditTrail`` over ``FakeAuditLog``.
"""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.errors import (
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    MalformedRequestError,
    NotFoundError,
)
from chalicelib.domain.identity import Principal
from chalicelib.domain.timeline import NoteIn, PatientNote, TimelineEvent
from chalicelib.domain.timeutil import iso
from chalicelib.services.audit import AuditTrail
from chalicelib.services.record import PatientRecordService
from tests.fakes.conversations import FakeConversationStore, FakeSummaryStore
from tests.unit.services.patients_world import PeopleWorld, admin, clinician, patient


class World(PeopleWorld):
    def __post_init__(self) -> None:
        super().__post_init__()
        self.store = FakeConversationStore()
        self.buckets = FakeSummaryStore()
        self._note_ids = itertools.count(1)
        self.record = PatientRecordService(
            self.store,
            self.buckets,
            self.service,
            AuditTrail(self.audit_log, self.clock),
            CursorCodec(b"unit-test-secret"),
            self.clock,
            lambda prefix: f"{prefix}-{next(self._note_ids)}",
        )
        self.enrol("p-1", by=clinician("c-ana"))
        self.enrol("p-2", by=clinician("c-eve"))

    def note(
        self, text: str = "Discussed diet", note_id: str | None = "n-1", shared: bool = False, by: str = "c-ana"
    ) -> tuple[int, PatientNote]:
        request = NoteIn(note_id=note_id, text=text, share_with_patient=shared)
        return self.record.add_note(clinician(by), "p-1", request)

    def event(self, kind: str, event_id: str, summary: str = "something", **ref: str) -> None:
        self.store.put_event("p-1", kind, self.clock(), event_id, summary, None, dict(ref))
        self.clock.advance(minutes=1)

    def timeline(
        self, who: Principal, limit: int = 50, cursor: str | None = None, **q: str
    ) -> tuple[list[TimelineEvent], str | None]:
        return self.record.timeline(who, "p-1", q.get("start"), q.get("end"), q.get("kinds"), limit, cursor)


@pytest.fixture
def world() -> World:
    return World()


# -- notes -----------------------------------------------------------------------------------


def test_a_note_is_written_with_201_and_joins_the_timeline(world: World) -> None:
    status, note = world.note("Discussed diet")

    assert status == 201
    assert (note.note_id, note.patient_id, note.by, note.text) == ("n-1", "p-1", "c-ana", "Discussed diet")
    [event] = world.store.timeline("p-1")
    assert event["kind"] == "note" and event["ref"] == {"note_id": "n-1", "by": "c-ana", "shared": False}
    assert event["summary"] == "Note by c-ana: Discussed diet"


def test_a_repeated_note_answers_200_with_the_stored_note_and_writes_nothing(world: World) -> None:
    _, first = world.note("Discussed diet")
    world.clock.advance(minutes=2)
    status, again = world.note("Discussed diet")

    assert status == 200 and again == first
    assert len(world.store.timeline("p-1")) == 1
    assert len(world.audited("create", "note")) == 1


def test_the_same_note_id_with_another_text_is_a_conflict(world: World) -> None:
    world.note("Discussed diet")

    with pytest.raises(ConflictError):
        world.note("Discussed exercise")
    assert len(world.store.timeline("p-1")) == 1


def test_the_same_note_id_shared_differently_is_a_conflict(world: World) -> None:
    world.note("Discussed diet", shared=False)

    with pytest.raises(ConflictError):
        world.note("Discussed diet", shared=True)


def test_the_same_note_id_by_another_author_is_a_conflict(world: World) -> None:
    world.patients.records["p-1"]["care_team"].append("c-eve")
    world.note("Discussed diet", by="c-ana")

    with pytest.raises(ConflictError):
        world.note("Discussed diet", by="c-eve")


def test_an_idempotency_key_names_the_note_when_no_note_id_is_given(world: World) -> None:
    request = NoteIn(text="Discussed diet")
    first = world.record.add_note(clinician(), "p-1", request, "key-1")
    again = world.record.add_note(clinician(), "p-1", request, "key-1")
    other = world.record.add_note(clinician(), "p-1", request, "key-2")

    assert (first[0], again[0], other[0]) == (201, 200, 201)
    assert first[1] == again[1] and other[1].note_id != first[1].note_id


def test_only_the_care_team_writes_notes(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.note(by="c-eve")
    with pytest.raises(ForbiddenError):
        world.record.add_note(patient("p-1"), "p-1", NoteIn(note_id="n-1", text="Mine"))
    assert world.store.timeline("p-1") == []


def test_an_admin_may_write_a_note(world: World) -> None:
    status, note = world.record.add_note(admin(), "p-1", NoteIn(note_id="n-9", text="Checked"))

    assert status == 201 and note.by == "a-1"


# -- what the patient sees -------------------------------------------------------------------


def test_a_note_not_shared_stays_with_the_care_team(world: World) -> None:
    world.note("Staff only", note_id="n-1")

    assert [e.kind for e in world.timeline(clinician())[0]] == ["note"]
    assert world.timeline(patient("p-1"))[0] == []


def test_a_shared_note_shows_on_the_patients_timeline(world: World) -> None:
    world.note("Keep it up", note_id="n-1", shared=True)

    [event] = world.timeline(patient("p-1"))[0]
    assert event.kind == "note" and event.ref["shared"] is True and "Keep it up" in event.summary


def test_a_task_shows_the_patient_that_it_exists_not_why(world: World) -> None:
    world.event("task_created", "t-1", "call_patient: missed three readings")

    [seen] = world.timeline(patient("p-1"))[0]
    [staff] = world.timeline(clinician())[0]
    assert seen.summary == "Task for the care team: call_patient"
    assert staff.summary == "call_patient: missed three readings"


def test_a_patient_sees_only_their_own_timeline(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.record.timeline(patient("p-2"), "p-1", None, None, None, 10, None)


def test_a_clinician_sees_only_their_panels_timelines(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.timeline(clinician("c-eve"))


# -- paging and filters ----------------------------------------------------------------------


def test_the_timeline_is_newest_first_and_pages_without_gaps_or_repeats(world: World) -> None:
    for n in range(5):
        world.event("reading", f"r-{n}")

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        items, cursor = world.timeline(clinician(), limit=2, cursor=cursor)
        seen += [e.at for e in items]
        pages += 1
        if cursor is None:
            break

    assert pages == 3 and seen == sorted(seen, reverse=True) and len(set(seen)) == 5


def test_events_at_the_same_moment_page_by_event_id(world: World) -> None:
    at = world.clock()
    for event_id in ("a", "b", "c"):
        world.store.put_event("p-1", "reading", at, event_id, event_id)

    first, cursor = world.timeline(clinician(), limit=2)
    second, end = world.timeline(clinician(), limit=2, cursor=cursor)

    assert [e.summary for e in first + second] == ["c", "b", "a"] and end is None


def test_a_patients_page_may_be_shorter_but_skips_nothing(world: World) -> None:
    world.event("reading", "r-1", "first")
    world.note("Staff only", note_id="n-1")
    world.clock.advance(minutes=1)
    world.event("reading", "r-2", "second")

    first, cursor = world.timeline(patient("p-1"), limit=2)
    second, end = world.timeline(patient("p-1"), limit=2, cursor=cursor)

    assert [e.summary for e in first] == ["second"]
    assert [e.summary for e in second] == ["first"] and end is None


def test_kinds_filter_reads_only_those_kinds_and_merges_them_newest_first(world: World) -> None:
    world.event("reading", "r-1")
    world.event("message_in", "m-1")
    world.event("alert_opened", "a-1")
    world.event("reading", "r-2")

    items, _ = world.timeline(clinician(), kinds="reading,alert_opened")

    assert [e.kind for e in items] == ["reading", "alert_opened", "reading"]


def test_kinds_pages_continue_across_kinds(world: World) -> None:
    for n in range(3):
        world.event("reading", f"r-{n}")
        world.event("alert_opened", f"a-{n}")

    first, cursor = world.timeline(clinician(), limit=4, kinds="reading,alert_opened")
    second, end = world.timeline(clinician(), limit=4, cursor=cursor, kinds="reading,alert_opened")

    assert len(first) == 4 and len(second) == 2 and end is None
    ats = [e.at for e in first + second]
    assert ats == sorted(ats, reverse=True)


def test_from_and_to_bound_the_timeline(world: World) -> None:
    start = world.clock()
    for n in range(4):
        world.event("reading", f"r-{n}")

    items, _ = world.timeline(
        clinician(), start=iso(start + timedelta(minutes=1)), end=iso(start + timedelta(minutes=2))
    )

    assert [e.at for e in items] == [iso(start + timedelta(minutes=2)), iso(start + timedelta(minutes=1))]


def test_from_after_to_is_invalid(world: World) -> None:
    with pytest.raises(InvalidInputError):
        world.timeline(clinician(), start="2026-03-02T10:00:00Z", end="2026-03-02T09:00:00Z")


def test_a_time_without_an_offset_is_malformed(world: World) -> None:
    with pytest.raises(MalformedRequestError):
        world.timeline(clinician(), start="2026-03-02T10:00:00")


def test_an_unknown_kind_is_malformed(world: World) -> None:
    with pytest.raises(MalformedRequestError):
        world.timeline(clinician(), kinds="reading,gossip")


def test_a_cursor_belongs_to_its_filters(world: World) -> None:
    for n in range(3):
        world.event("reading", f"r-{n}")
    _, cursor = world.timeline(clinician(), limit=1)

    with pytest.raises(MalformedRequestError):
        world.timeline(clinician(), limit=1, cursor=cursor, kinds="reading")


def test_reading_the_timeline_is_audited_with_what_was_shown(world: World) -> None:
    world.note("Staff only", note_id="n-1")
    world.timeline(patient("p-1"))

    [entry] = world.audited("list", "timeline")
    assert entry["patient_id"] == "p-1" and entry["detail"] == {"count": 0}


# -- trends ----------------------------------------------------------------------------------


def test_an_unknown_trend_type_or_window_is_malformed(world: World) -> None:
    with pytest.raises(MalformedRequestError):
        world.record.trend(clinician(), "p-1", "weight", "30")
    with pytest.raises(MalformedRequestError):
        world.record.trend(clinician(), "p-1", "blood_glucose", "31")


def test_a_trend_is_scoped_and_audited(world: World) -> None:
    with pytest.raises(NotFoundError):
        world.record.trend(clinician("c-eve"), "p-1", "blood_glucose", "7")
    world.record.trend(patient("p-1"), "p-1", "blood_glucose", "7")

    [entry] = world.audited("read", "trend")
    assert entry["detail"] == {"type": "blood_glucose", "days": 7}


def test_a_glucose_trend_counts_the_readings_of_the_window_in_the_patients_local_days(world: World) -> None:
    # The clock is 2026-03-02 09:00 UTC, 04:00 in New York: the 7-day window ends on March 2nd.
    for day, reading_id, value in [("2026-03-02", "r-1", 100), ("2026-03-02", "r-2", 140), ("2026-02-20", "r-3", 60)]:
        world.buckets.count_reading("p-1", "blood_glucose", day, reading_id, value, device_day=True)
    world.buckets.count_reading("p-1", "blood_glucose", "2026-03-02", "r-1", 100, device_day=True)  # redelivered

    trend = world.record.trend(clinician(), "p-1", "blood_glucose", "7")

    assert trend.type == "blood_glucose" and trend.count == 2 and trend.last_date == "2026-03-02"
    assert (trend.min_mg_dl, trend.max_mg_dl) == (100, 140)


def test_the_consoles_window_statistics_compare_with_the_previous_window_and_are_scoped_and_audited(
    world: World,
) -> None:
    from datetime import date

    from chalicelib.domain.trends import Window

    # The clock is 2026-03-02 (New York): this 7-day window is Feb 24 - Mar 2, the previous one Feb 17 - Feb 23.
    for day, reading_id, value in [("2026-03-02", "r-1", 50), ("2026-02-25", "r-2", 150), ("2026-02-20", "r-3", 120)]:
        world.buckets.count_reading("p-1", "blood_glucose", day, reading_id, value, device_day=True)
    window = Window(first=date(2026, 2, 24), last=date(2026, 3, 2))

    with pytest.raises(NotFoundError):
        world.record.window_stats(clinician("c-eve"), "p-1", window)
    glucose, bp = world.record.window_stats(clinician(), "p-1", window)

    assert (glucose.current.count, glucose.current.mean_mg_dl, glucose.current.below_54_pct) == (2, 100, 50)
    assert (glucose.previous.count, glucose.previous.mean_mg_dl) == (1, 120)
    assert glucose.change.mean_mg_dl == -20
    assert bp.count == 0
    [entry] = world.audited("read", "trend")
    assert entry["detail"] == {"type": "blood_glucose,blood_pressure", "days": 7}
