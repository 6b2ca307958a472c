"""The worklist as the console reads it: the order of need, triage buckets, care minutes, filters and reviews.

The same fakes as test_worklist.py (its ``World``); the recent readings are added as the stream adds them
(``FakeRecentReadings.add`` with chalicelib/domain/triage.py's records).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.errors import ForbiddenError, NotFoundError
from chalicelib.domain.timeutil import iso
from chalicelib.domain.triage import Bucket, encode_bp, encode_glucose
from chalicelib.domain.worklist import Need, WorklistFilter, need_of
from chalicelib.jobs.changes import recent_record
from tests.unit.services.patients_world import admin, clinician, patient
from tests.unit.services.test_worklist import NOW, World

TODAY = NOW.date()  # 2026-03-02 (UTC)


@pytest.fixture
def world() -> World:
    return World()


def glucose(world: World, pid: str, *values: float | str, days_ago: int = 0) -> None:
    day = (TODAY - timedelta(days=days_ago)).isoformat()
    for n, value in enumerate(values):
        world.recent.add(pid, day, encode_glucose(f"g-{days_ago}-{n}-{pid}", day, value))


def critical(world: World, cid: str, pid: str, opened_ago_min: int, status: str = "open", **extra: Any) -> None:
    """A live critical alert entry as the alert store lists it (opened ``opened_ago_min`` minutes ago)."""
    opened = iso(NOW - timedelta(minutes=opened_ago_min))
    world.alerts.entries.setdefault(cid, []).append(
        {"patient_id": pid, "priority": "critical", "status": status, "opened_at": opened, **extra}
    )


# -- the order of need -------------------------------------------------------------------------


def test_the_groups_come_in_console_md_order(world: World) -> None:
    recent = world.read(0.2)
    world.add("p-rest-ok", last_reading_at=recent)
    world.add("p-stale", last_reading_at=world.read(3.1))
    world.add("p-task", open_tasks=1, last_reading_at=recent)
    world.add("p-routine", last_reading_at=recent)
    world.add("p-unanswered", last_reading_at=recent)
    world.add("p-critical", last_reading_at=recent)
    world.add("p-rest-low", last_reading_at=recent)
    world.alerts.add("c-ana", "p-routine", "routine")
    world.alerts.add("c-ana", "p-unanswered", "routine", unanswered=True)
    critical(world, "c-ana", "p-critical", 5)
    glucose(world, "p-rest-ok", 120, 130)
    glucose(world, "p-rest-low", 65, 120)

    rows = world.build().items

    assert [r.patient_id for r in rows] == [
        "p-critical",
        "p-unanswered",
        "p-routine",
        "p-task",
        "p-stale",
        "p-rest-low",
        "p-rest-ok",
    ]
    assert [need_of(r) for r in rows] == [
        Need.CRITICAL_ALERT,
        Need.UNANSWERED_ALERT,
        Need.ROUTINE_ALERT,
        Need.OPEN_TASK,
        Need.STALE_DATA,
        Need.REST,
        Need.REST,
    ]


def test_the_oldest_unacknowledged_critical_alert_comes_first(world: World) -> None:
    world.add("p-new")
    world.add("p-old")
    world.add("p-acked")
    critical(world, "c-ana", "p-new", 5)
    critical(world, "c-ana", "p-new", 3)
    critical(world, "c-ana", "p-old", 50)
    critical(world, "c-ana", "p-acked", 500, status="acknowledged")  # older, but somebody has it

    rows = world.build().items

    assert [r.patient_id for r in rows] == ["p-old", "p-new", "p-acked"]
    assert rows[0].oldest_unacknowledged_critical_at == iso(NOW - timedelta(minutes=50))
    assert rows[1].oldest_unacknowledged_critical_at == iso(NOW - timedelta(minutes=5))  # its older one
    assert rows[2].oldest_unacknowledged_critical_at is None and rows[2].open_critical_alerts == 1


def test_each_row_is_flagged_by_the_first_reason_that_holds(world: World) -> None:
    world.add("p-task-and-silent", open_tasks=1, last_reading_at=world.read(9))
    world.add("p-routine-and-task", open_tasks=2)
    world.alerts.add("c-ana", "p-routine-and-task", "routine")
    world.add("p-critical-and-unanswered")
    critical(world, "c-ana", "p-critical-and-unanswered", 5, unanswered=True)

    rows = {r.patient_id: need_of(r) for r in world.build().items}

    assert rows == {
        "p-task-and-silent": Need.OPEN_TASK,
        "p-routine-and-task": Need.ROUTINE_ALERT,
        "p-critical-and-unanswered": Need.CRITICAL_ALERT,
    }


def test_three_days_without_a_reading_is_stale_and_two_is_not(world: World) -> None:
    world.add("p-two", last_reading_at=world.read(2.9))
    world.add("p-three", last_reading_at=world.read(3.0))
    world.add("p-never")

    rows = {r.patient_id: need_of(r) for r in world.build().items}

    assert rows == {"p-two": Need.REST, "p-three": Need.STALE_DATA, "p-never": Need.STALE_DATA}


def test_the_rest_comes_in_triage_order(world: World) -> None:
    recent = world.read(0.1)
    for pid in ("p-ok", "p-high", "p-very-high", "p-crisis", "p-low", "p-very-low"):
        world.add(pid, last_reading_at=recent)
    glucose(world, "p-ok", 120)
    glucose(world, "p-high", 190, 120, 120)  # a third above 180
    glucose(world, "p-very-high", 260, *[120] * 19)  # exactly 5 % above 250
    world.recent.add("p-crisis", TODAY.isoformat(), encode_bp("b-1", TODAY.isoformat(), 185, 95))
    glucose(world, "p-low", 68, *[120] * 24)  # exactly 4 % below 70
    glucose(world, "p-very-low", 53, days_ago=13)  # the 14th local day back: still in the window

    rows = world.build().items

    assert [(r.patient_id, r.triage_bucket) for r in rows] == [
        ("p-very-low", Bucket.VERY_LOW),
        ("p-low", Bucket.LOW),
        ("p-crisis", Bucket.BP_CRISIS),
        ("p-very-high", Bucket.VERY_HIGH),
        ("p-high", Bucket.HIGH),
        ("p-ok", Bucket.MEETING_TARGETS),
    ]


def test_triage_reads_the_patients_last_14_local_days(world: World) -> None:
    world.add("p-utc", last_reading_at=world.read(0))
    world.add("p-ny", timezone="America/New_York", last_reading_at=world.read(0))
    glucose(world, "p-utc", 50, days_ago=14)  # the 15th day back: outside
    # NOW is still March 1st in New York: its window is Feb 16 .. Mar 1, so Feb 16 (14 UTC days back) counts.
    glucose(world, "p-ny", 50, days_ago=14)

    rows = {r.patient_id: r.triage_bucket for r in world.build().items}

    assert rows == {"p-utc": Bucket.NO_DATA, "p-ny": Bucket.VERY_LOW}


def test_a_patient_without_recent_readings_has_no_data(world: World) -> None:
    world.add("p-1", last_reading_at=world.read(0))

    assert world.build().items[0].triage_bucket is Bucket.NO_DATA


# -- what a row says ---------------------------------------------------------------------------


def test_care_minutes_are_this_local_months(world: World) -> None:
    world.add("p-utc")
    world.add("p-ny", timezone="America/New_York")
    for pid in ("p-utc", "p-ny"):
        world.months.rpm[(pid, "2026-02")] = {"patient_id": pid, "month": "2026-02", "care_minutes": 25}
        world.months.rpm[(pid, "2026-03")] = {"patient_id": pid, "month": "2026-03", "care_minutes": 7}
    world.clock.advance(hours=-25)  # 02:00 UTC on March 1st: still February 28th in New York

    rows = {r.patient_id: r.care_minutes_month for r in world.build().items}

    assert rows == {"p-utc": 7, "p-ny": 25}


def test_care_minutes_of_last_month_do_not_count(world: World) -> None:
    world.add("p-1")
    world.months.rpm[("p-1", "2026-02")] = {"patient_id": "p-1", "month": "2026-02", "care_minutes": 25}

    assert world.build().items[0].care_minutes_month == 0


def test_the_care_team_members_are_named_for_the_filter(world: World) -> None:
    world.clinicians.put({"clinician_id": "c-eve", "given_name": "Eve", "family_name": "Costa", "phone": "+1555"})
    world.add("p-1", team=("c-ana", "c-eve"))
    world.add("p-2", team=("c-ana", "c-zed"))

    members = [(m.clinician_id, m.name) for m in world.build().care_team_members]

    assert members == [("c-ana", None), ("c-eve", "Eve Costa"), ("c-zed", None)]


# -- filters -----------------------------------------------------------------------------------


def test_the_bucket_filter_keeps_that_bucket_and_audits_only_those_rows(world: World) -> None:
    world.add("p-low", last_reading_at=world.read(0))
    world.add("p-ok", last_reading_at=world.read(0))
    glucose(world, "p-low", 60)
    glucose(world, "p-ok", 110)

    very_low = world.worklist.build(clinician("c-ana"), WorklistFilter(bucket=Bucket.VERY_LOW)).items
    low = world.worklist.build(clinician("c-ana"), WorklistFilter(bucket=Bucket.LOW)).items

    assert [r.patient_id for r in very_low] == []
    assert [r.patient_id for r in low] == ["p-low"]
    assert [e["patient_id"] for e in world.audit_log.entries if e["resource"] == "worklist"] == ["p-low"]


def test_the_member_filter_keeps_patients_with_that_clinician_on_the_team(world: World) -> None:
    world.add("p-ana")
    world.add("p-both", team=("c-ana", "c-eve"))

    rows = world.worklist.build(clinician("c-ana"), WorklistFilter(member="c-eve")).items

    assert [r.patient_id for r in rows] == ["p-both"]


def test_not_reviewed_leaves_out_patients_reviewed_today_in_the_clinicians_zone(world: World) -> None:
    # NOW (03:00 UTC, March 2nd) is 22:00 on March 1st in New York, where c-ana works.
    world.clinicians.put({"clinician_id": "c-ana", "phone": "+15550000001", "timezone": "America/New_York"})
    for pid in ("p-today", "p-yesterday", "p-never"):
        world.add(pid)
    world.reviews.mark("p-today", iso(NOW - timedelta(hours=5)), "c-eve", None)  # 17:00 Mar 1 there (UTC: Mar 1)
    world.reviews.mark("p-yesterday", iso(NOW - timedelta(hours=23)), "c-eve", None)  # 23:00 Feb 28 there

    kept = world.worklist.build(clinician("c-ana"), WorklistFilter(not_reviewed=True)).items
    every = {r.patient_id: r.reviewed_today for r in world.build().items}

    assert [r.patient_id for r in kept] == ["p-never", "p-yesterday"]
    assert every == {"p-today": True, "p-yesterday": False, "p-never": False}


# -- reviews -----------------------------------------------------------------------------------


def test_a_review_shows_who_and_when_to_the_whole_care_team(world: World) -> None:
    world.add("p-1", team=("c-ana", "c-eve"))

    review = world.worklist.mark_reviewed(clinician("c-eve"), "p-1", None)

    assert review.changed and review.can_undo and review.reviewed_by == "c-eve" and review.reviewed_at == iso(NOW)
    assert review.reviewed_today and review.patient_name is None
    [row] = world.build("c-ana").items
    assert (row.reviewed_at, row.reviewed_by, row.reviewed_today) == (iso(NOW), "c-eve", True)


def test_a_review_answer_names_the_patient_and_the_reviewer(world: World) -> None:
    world.clinicians.put({"clinician_id": "c-eve", "given_name": "Eve", "family_name": "Costa"})
    world.add("p-1", team=("c-ana", "c-eve"), given_name="Maria", family_name="Lopez")

    review = world.worklist.mark_reviewed(clinician("c-eve"), "p-1", None)

    assert (review.patient_name, review.reviewed_by_name) == ("Maria Lopez", "Eve Costa")


def test_undo_puts_back_the_review_it_replaced(world: World) -> None:
    world.add("p-1", team=("c-ana", "c-eve"))
    first = world.worklist.mark_reviewed(clinician("c-eve"), "p-1", None)
    world.clock.advance(hours=1)
    second = world.worklist.mark_reviewed(clinician("c-ana"), "p-1", first.reviewed_at)

    undone = world.worklist.undo_review(clinician("c-ana"), "p-1", str(second.reviewed_at))

    assert undone.changed and not undone.can_undo
    assert (undone.reviewed_at, undone.reviewed_by) == (first.reviewed_at, "c-eve")
    [row] = world.build("c-ana").items
    assert (row.reviewed_at, row.reviewed_by) == (first.reviewed_at, "c-eve")


def test_undoing_the_first_review_leaves_the_patient_never_reviewed(world: World) -> None:
    world.add("p-1")
    review = world.worklist.mark_reviewed(clinician("c-ana"), "p-1", None)

    undone = world.worklist.undo_review(clinician("c-ana"), "p-1", str(review.reviewed_at))

    assert undone.changed and (undone.reviewed_at, undone.reviewed_by) == (None, None)
    [row] = world.build().items
    assert (row.reviewed_at, row.reviewed_by, row.reviewed_today) == (None, None, False)
    # Marked again after the undo: an undo of that goes back to "never", not to the undone review.
    again = world.worklist.mark_reviewed(clinician("c-ana"), "p-1", None)
    assert again.changed


def test_an_undo_twice_changes_nothing_the_second_time(world: World) -> None:
    world.add("p-1")
    first = world.worklist.mark_reviewed(clinician("c-ana"), "p-1", None)
    world.clock.advance(minutes=5)
    second = world.worklist.mark_reviewed(clinician("c-ana"), "p-1", first.reviewed_at)
    world.worklist.undo_review(clinician("c-ana"), "p-1", str(second.reviewed_at))

    again = world.worklist.undo_review(clinician("c-ana"), "p-1", str(second.reviewed_at))

    assert not again.changed and again.reviewed_at == first.reviewed_at  # not back to "never"


def test_only_the_reviewer_can_undo_a_review(world: World) -> None:
    world.add("p-1", team=("c-ana", "c-eve"))
    review = world.worklist.mark_reviewed(clinician("c-ana"), "p-1", None)

    other = world.worklist.undo_review(clinician("c-eve"), "p-1", str(review.reviewed_at))

    assert not other.changed and not other.can_undo and other.reviewed_by == "c-ana"


def test_a_review_over_one_the_nurse_did_not_see_answers_the_current_one(world: World) -> None:
    world.add("p-1", team=("c-ana", "c-eve"))
    world.worklist.mark_reviewed(clinician("c-eve"), "p-1", None)
    world.clock.advance(minutes=1)

    late = world.worklist.mark_reviewed(clinician("c-ana"), "p-1", None)  # her page still said "never"

    assert not late.changed and late.reviewed_by == "c-eve" and not late.can_undo


def test_an_undo_after_someone_else_reviewed_again_changes_nothing(world: World) -> None:
    world.add("p-1", team=("c-ana", "c-eve"))
    mine = world.worklist.mark_reviewed(clinician("c-ana"), "p-1", None)
    world.clock.advance(minutes=1)
    world.worklist.mark_reviewed(clinician("c-eve"), "p-1", mine.reviewed_at)

    undo = world.worklist.undo_review(clinician("c-ana"), "p-1", str(mine.reviewed_at))

    assert not undo.changed and undo.reviewed_by == "c-eve"


def test_reviews_and_undos_are_audited(world: World) -> None:
    world.add("p-1")
    review = world.worklist.mark_reviewed(clinician("c-ana"), "p-1", None)
    world.worklist.undo_review(clinician("c-ana"), "p-1", str(review.reviewed_at))
    world.worklist.undo_review(clinician("c-ana"), "p-1", str(review.reviewed_at))  # nothing: not audited

    audited = [
        (e["action"], e["actor"], e["patient_id"]) for e in world.audit_log.entries if e["resource"] == "patient"
    ]
    assert audited == [("review", "c-ana", "p-1"), ("undo_review", "c-ana", "p-1")]


def test_a_patient_outside_the_panel_cannot_be_reviewed(world: World) -> None:
    world.add("p-eve", team=("c-eve",))

    with pytest.raises(NotFoundError):
        world.worklist.mark_reviewed(clinician("c-ana"), "p-eve", None)
    with pytest.raises(NotFoundError):
        world.worklist.undo_review(clinician("c-ana"), "p-eve", iso(NOW))
    assert world.reviews.items == {}


def test_a_patient_cannot_review_even_themselves(world: World) -> None:
    world.add("p-1")

    with pytest.raises(ForbiddenError):
        world.worklist.mark_reviewed(patient("p-1"), "p-1", None)


def test_an_admin_acts_as_care_team_for_a_review(world: World) -> None:
    world.add("p-1")

    assert world.worklist.mark_reviewed(admin(), "p-1", None).changed


# -- what the stream adds to the RECENT item ----------------------------------------------------


def _image(measured: str, received: str, **extra: Any) -> dict[str, Any]:
    return {
        "reading_id": "r-1",
        "type": "blood_glucose",
        "value_mg_dl": 99.5,
        "measured_at": measured,
        "received_at": received,
        **extra,
    }


def test_a_reading_of_the_last_15_local_days_gets_a_record() -> None:
    image = _image("2026-02-16T12:00:00.000Z", "2026-03-02T03:00:00.000Z")

    assert recent_record(image, "2026-02-16", "2026-03-02") == "g|r-1|2026-02-16|99.5"
    assert recent_record(image, "2026-02-15", "2026-03-02") is None  # 16 local days back: history


def test_a_reading_dated_tomorrow_and_a_meter_lo_get_records() -> None:
    image = _image("2026-03-03T00:02:00.000Z", "2026-03-02T23:59:00.000Z", value_mg_dl=None, meter_flag="LO")

    assert recent_record(image, "2026-03-03", "2026-03-02") == "g|r-1|2026-03-03|LO"


def test_a_blood_pressure_reading_gets_its_pair() -> None:
    image = {**_image("x", "y"), "type": "blood_pressure", "systolic": 150, "diastolic": 95.5}

    assert recent_record(image, "2026-03-02", "2026-03-02") == "b|r-1|2026-03-02|150|95.5"


def test_a_value_no_record_can_hold_stays_out_of_triage() -> None:
    assert recent_record(_image("x", "y", value_mg_dl=-1), "2026-03-02", "2026-03-02") is None
