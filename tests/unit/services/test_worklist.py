"""The clinician's worklist on the in-memory fakes of its ports: who needs attention first, in their panel only.

``WorklistService`` over ``FakePatientStore`` (the panel) and ``FakeClinicianStore``
(tests/fakes/patients.py), ``FakeLiveAlerts`` and ``FakeSummaryStore`` (tests/fakes/conversations.py),
``FakeMessagingStore`` (held messages), ``FakeRecentReadings`` and ``FakeReviewStore`` (tests/fakes/worklist.py)
and a real ``AuditTrail`` over ``FakeAuditLog``.  Triage, care minutes and reviews: test_worklist_console.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain.errors import ForbiddenError
from chalicelib.domain.timeutil import iso
from chalicelib.domain.worklist import Worklist, WorklistFilter
from chalicelib.services.audit import AuditTrail
from chalicelib.services.worklist import WorklistService
from tests.fakes import FakeAuditLog, FakeClock, FakeMessagingStore, FakePatientAccess
from tests.fakes.conversations import FakeLiveAlerts, FakeSummaryStore
from tests.fakes.patients import FakeClinicianStore, FakePatientStore
from tests.fakes.worklist import FakeRecentReadings, FakeReviewStore
from tests.unit.services.patients_world import admin, clinician, patient

NOW = datetime(2026, 3, 2, 3, 0, tzinfo=UTC)  # still March 1st in New York


def device_day(world: World, pid: str, day: str) -> None:
    world.months.count_reading(pid, "blood_glucose", day, f"r-{day}", 100, device_day=True)


class World:
    def __init__(self) -> None:
        self.clock = FakeClock(NOW)
        self.patients = FakePatientStore()
        self.clinicians = FakeClinicianStore()
        self.alerts = FakeLiveAlerts()
        self.months = FakeSummaryStore()
        self.messaging = FakeMessagingStore()
        self.audit_log = FakeAuditLog()
        self.recent = FakeRecentReadings()
        self.reviews = FakeReviewStore()
        self.worklist = WorklistService(
            self.patients,
            self.clinicians,
            self.alerts,
            self.months,
            self.clock,
            self.messaging,
            AuditTrail(self.audit_log, self.clock),
            self.recent,
            self.reviews,
            FakePatientAccess(self.patients),
        )
        self.clinicians.put({"clinician_id": "c-ana", "phone": "+15550000001"})
        self.clinicians.put({"clinician_id": "c-eve", "phone": "+15550000002"})

    def add(self, pid: str, team: tuple[str, ...] = ("c-ana",), **fields: Any) -> None:
        self.patients.put({"patient_id": pid, "care_team": list(team), "timezone": "UTC", **fields})

    def read(self, days_ago: float) -> str:
        return iso(NOW - timedelta(days=days_ago))

    def build(self, cid: str = "c-ana") -> Worklist:
        return self.worklist.build(clinician(cid))

    def order(self, cid: str = "c-ana") -> list[str]:
        return [r.patient_id for r in self.build(cid).items]


@pytest.fixture
def world() -> World:
    return World()


# -- ordering --------------------------------------------------------------------------------


def test_open_critical_alerts_come_first(world: World) -> None:
    world.add("p-routine", last_reading_at=world.read(0))
    world.add("p-critical", last_reading_at=world.read(0))
    world.alerts.add("c-ana", "p-routine", "routine")
    world.alerts.add("c-ana", "p-routine", "routine")
    world.alerts.add("c-ana", "p-critical", "critical")

    assert world.order() == ["p-critical", "p-routine"]


def test_more_critical_alerts_come_before_fewer(world: World) -> None:
    world.add("p-one")
    world.add("p-two")
    world.alerts.add("c-ana", "p-one", "critical")
    world.alerts.add("c-ana", "p-two", "critical")
    world.alerts.add("c-ana", "p-two", "critical")

    assert world.order() == ["p-two", "p-one"]


def test_an_unanswered_critical_alert_comes_before_an_answered_one(world: World) -> None:
    world.add("p-answered")
    world.add("p-unanswered")
    world.alerts.add("c-ana", "p-answered", "critical")
    world.alerts.add("c-ana", "p-unanswered", "critical", unanswered=True)

    rows = world.build().items
    assert [r.patient_id for r in rows] == ["p-unanswered", "p-answered"]
    assert rows[0].unanswered_alerts == 1


def test_routine_alerts_come_before_tasks(world: World) -> None:
    world.add("p-task", open_tasks=3)
    world.add("p-routine")
    world.alerts.add("c-ana", "p-routine", "routine")

    assert world.order() == ["p-routine", "p-task"]


def test_open_tasks_come_before_a_long_silence(world: World) -> None:
    world.add("p-silent", last_reading_at=world.read(20))
    world.add("p-task", open_tasks=1, last_reading_at=world.read(0))

    assert world.order() == ["p-task", "p-silent"]


def test_the_longest_without_a_reading_comes_first_and_never_is_longest(world: World) -> None:
    world.add("p-today", last_reading_at=world.read(0.1))
    world.add("p-never")
    world.add("p-week", last_reading_at=world.read(7.5))

    rows = world.build().items
    assert [r.patient_id for r in rows] == ["p-never", "p-week", "p-today"]
    assert [r.days_since_last_reading for r in rows] == [None, 7, 0]


def test_fewest_device_days_come_first_among_equals(world: World) -> None:
    world.add("p-many", last_reading_at=world.read(0))
    world.add("p-few", last_reading_at=world.read(0))
    for n in range(5):
        device_day(world, "p-many", (NOW - timedelta(days=n)).date().isoformat())
    device_day(world, "p-few", NOW.date().isoformat())

    rows = world.build().items
    assert [(r.patient_id, r.device_days_last_30) for r in rows] == [("p-few", 1), ("p-many", 5)]


def test_device_days_count_the_last_30_local_days_across_two_months(world: World) -> None:
    world.add("p-1")
    today = NOW.date()
    for days_ago in (0, 5, 29, 30, 45):
        device_day(world, "p-1", (today - timedelta(days=days_ago)).isoformat())

    [row] = world.build().items
    assert row.device_days_last_30 == 3


def test_device_days_follow_the_patients_local_day(world: World) -> None:
    world.add("p-ny", timezone="America/New_York")
    # 03:00 UTC on March 2nd is still March 1st in New York: its window ends on the 1st.
    device_day(world, "p-ny", "2026-03-02")
    device_day(world, "p-ny", "2026-03-01")

    [row] = world.build().items
    assert row.device_days_last_30 == 1


# -- what a row says -------------------------------------------------------------------------


def test_a_row_carries_the_counts_and_the_names(world: World) -> None:
    world.add("p-1", given_name="Maria", family_name="Lopez", open_tasks=2, last_reading_at=world.read(3))
    world.alerts.add("c-ana", "p-1", "critical")
    world.alerts.add("c-ana", "p-1", "routine")

    [row] = world.build().items
    assert row.model_dump() == {
        "patient_id": "p-1",
        "given_name": "Maria",
        "family_name": "Lopez",
        "open_critical_alerts": 1,
        "unanswered_alerts": 0,
        "open_routine_alerts": 1,
        "open_tasks": 2,
        "last_reading_at": world.read(3),
        "days_since_last_reading": 3,
        "device_days_last_30": 0,
        "targets_outside_limits": [],
        "held_messages_today": 0,
        "triage_bucket": "no_data",
        "oldest_unacknowledged_critical_at": None,
        "care_minutes_month": 0,
        "reviewed_at": None,
        "reviewed_by": None,
        "reviewed_today": False,
        "care_team": ["c-ana"],
        "unreachable_channels": [],
        "episode_status": "open",
    }


def test_a_row_names_the_channels_whose_address_a_provider_reported_gone(world: World) -> None:
    world.add("p-1", email="ana@example.org", phone="+15551230000")
    world.add("p-2", email="bea@example.org", unreachable_email={"address": "old@example.org"})
    world.patients.records["p-1"]["unreachable_email"] = {"address": "ana@example.org", "reason": "bounce"}

    rows = {r.patient_id: r.unreachable_channels for r in world.build().items}
    assert rows == {"p-1": ["email"], "p-2": []}  # p-2 has a new address since


def test_a_patient_without_names_shows_nulls(world: World) -> None:
    world.add("p-1")

    [row] = world.build().items
    assert row.given_name is None and row.family_name is None and row.last_reading_at is None


def test_held_messages_are_counted_for_the_patients_local_today(world: World) -> None:
    world.add("p-utc")
    world.add("p-ny", timezone="America/New_York")
    world.messaging.hold("p-utc", "2026-03-02", "i-1", 0)
    world.messaging.hold("p-utc", "2026-03-02", "i-2", 0)
    world.messaging.hold("p-utc", "2026-03-02", "i-2", 0)  # the same intent again counts once
    world.messaging.hold("p-ny", "2026-03-02", "i-3", 0)  # tomorrow, in New York
    world.messaging.hold("p-ny", "2026-03-01", "i-4", 0)

    rows = {r.patient_id: r.held_messages_today for r in world.build().items}
    assert rows == {"p-utc": 2, "p-ny": 1}


def test_a_patient_with_nothing_held_shows_zero(world: World) -> None:
    world.add("p-1")
    world.messaging.hold("p-1", "2026-02-28", "i-1", 0)

    assert world.build().items[0].held_messages_today == 0


def test_targets_stored_outside_the_hard_limits_are_named(world: World) -> None:
    world.add("p-legacy", targets={"glucose": {"critical_low": 40}, "override_critical": True, "reason": "old"})
    world.add("p-ok")

    rows = {r.patient_id: r.targets_outside_limits for r in world.build().items}
    assert rows == {"p-legacy": ["glucose.critical_low"], "p-ok": []}


# -- scope -----------------------------------------------------------------------------------


def test_a_clinician_sees_only_their_panel(world: World) -> None:
    world.add("p-ana")
    world.add("p-eve", team=("c-eve",))
    world.add("p-both", team=("c-ana", "c-eve"))

    assert world.order("c-ana") == ["p-ana", "p-both"]
    assert world.order("c-eve") == ["p-both", "p-eve"]


def test_alerts_on_another_clinicians_list_do_not_count(world: World) -> None:
    world.add("p-both", team=("c-ana", "c-eve"))
    world.alerts.add("c-eve", "p-both", "critical")

    assert world.build("c-ana").items[0].open_critical_alerts == 0
    assert world.build("c-eve").items[0].open_critical_alerts == 1


def test_a_clinician_without_patients_gets_an_empty_worklist(world: World) -> None:
    assert world.build().items == []


def test_a_panel_longer_than_a_page_is_read_whole(world: World) -> None:
    for n in range(501):
        world.add(f"p-{n:04d}")

    assert len(world.build().items) == 501


@pytest.mark.parametrize("who", [admin(), patient("p-1")])
def test_only_clinicians_have_a_worklist(world: World, who: Any) -> None:
    world.add("p-1")

    with pytest.raises(ForbiddenError):
        world.worklist.build(who)


def test_each_patient_shown_is_audited(world: World) -> None:
    world.add("p-1")
    world.add("p-2")
    world.add("p-eve", team=("c-eve",))

    world.build()

    assert sorted(e["patient_id"] for e in world.audit_log.entries if e["resource"] == "worklist") == ["p-1", "p-2"]


# -- configuration errors --------------------------------------------------------------------


def test_a_clinician_with_a_phone_has_no_configuration_error(world: World) -> None:
    assert world.build().configuration_errors == []


def test_a_clinician_nobody_can_page_is_told(world: World) -> None:
    world.clinicians.put({"clinician_id": "c-ana", "email": "ana@example.org"})

    [error] = world.build().configuration_errors
    assert error.clinician_id == "c-ana" and "phone" in error.problem


def test_the_worklist_json_is_what_the_view_sent_as_a_dict(world: World) -> None:
    world.add("p-1", given_name="Maria", last_reading_at=world.read(1))
    world.clinicians.put({"clinician_id": "c-ana"})

    body = world.build().model_dump(mode="json")
    assert list(body) == ["items", "configuration_errors", "care_team_members", "total"]
    assert list(body["items"][0]) == [
        "patient_id",
        "given_name",
        "family_name",
        "open_critical_alerts",
        "unanswered_alerts",
        "open_routine_alerts",
        "open_tasks",
        "last_reading_at",
        "days_since_last_reading",
        "device_days_last_30",
        "targets_outside_limits",
        "held_messages_today",
        "triage_bucket",
        "oldest_unacknowledged_critical_at",
        "care_minutes_month",
        "reviewed_at",
        "reviewed_by",
        "reviewed_today",
        "care_team",
        "unreachable_channels",
        "episode_status",
    ]
    assert list(body["configuration_errors"][0]) == ["clinician_id", "problem", "code"]


# -- device days from the RECENT item's marks ------------------------------------------------


def marked_day(world: World, pid: str, day: str, received: str | None = None) -> None:
    """A device reading as the stream counts it: in its month, and marked on the RECENT item."""
    device_day(world, pid, day)
    world.recent.add(pid, day, None, device_day=True, received_day=received or day)


def test_an_enrolled_patients_device_days_come_from_the_marks_without_reading_the_months(world: World) -> None:
    world.add("p-1")
    world.recent.enrol("p-1")
    today = NOW.date()
    for days_ago in (0, 5, 29, 30, 45):
        marked_day(world, "p-1", (today - timedelta(days=days_ago)).isoformat(), received=today.isoformat())
    world.months.rpm.clear()  # the months are not read: the marks alone count

    [row] = world.build().items
    assert row.device_days_last_30 == 3


def test_marks_and_months_agree_on_every_day_of_a_synced_history(world: World) -> None:
    """The same readings counted both ways: marks (enrolled) and months (enrolled before the marks)."""
    today = NOW.date()
    world.add("p-marks", last_reading_at=world.read(0))
    world.add("p-months", last_reading_at=world.read(0))
    world.recent.enrol("p-marks")
    for days_ago in (0, 1, 3, 10, 16, 28, 29, 30, 31, 40):  # a device syncing six weeks in one go today
        day = (today - timedelta(days=days_ago)).isoformat()
        marked_day(world, "p-marks", day, received=today.isoformat())
        device_day(world, "p-months", day)

    rows = {r.patient_id: r.device_days_last_30 for r in world.build().items}
    assert rows == {"p-marks": 7, "p-months": 7}


def test_marks_that_do_not_cover_the_window_give_way_to_the_months(world: World) -> None:
    """A patient enrolled before the marks: complete only from the day after their first marked reading."""
    today = NOW.date()
    world.add("p-1")
    for days_ago in (20, 12):  # before the marks existed: in the months only
        device_day(world, "p-1", (today - timedelta(days=days_ago)).isoformat())
    marked_day(world, "p-1", (today - timedelta(days=2)).isoformat())  # the first marked reading

    [row] = world.build().items
    assert world.recent.items(["p-1"])["p-1"].device_days_from == (today - timedelta(days=1)).isoformat()
    assert row.device_days_last_30 == 3


def test_an_item_that_could_not_grow_forgets_its_marks_until_the_months_cover_it(world: World) -> None:
    today = NOW.date()
    world.add("p-1")
    world.recent.enrol("p-1")
    marked_day(world, "p-1", (today - timedelta(days=3)).isoformat())
    device_day(world, "p-1", (today - timedelta(days=1)).isoformat())  # the RECENT item refused this one
    world.recent.forget_marks("p-1", (today - timedelta(days=1)).isoformat())

    [row] = world.build().items
    assert row.device_days_last_30 == 2


# -- a page of the worklist ------------------------------------------------------------------


def test_a_page_is_that_stretch_of_the_whole_panels_order_and_only_it_is_read_further_and_audited(
    world: World,
) -> None:
    for n in range(250):
        world.add(f"p-{n:03d}", last_reading_at=world.read(n % 9), open_tasks=n % 4)
        world.recent.enrol(f"p-{n:03d}")
        world.messaging.hold(f"p-{n:03d}", "2026-03-02", f"i-{n}", 0)
    everyone = world.build()

    world.audit_log.entries.clear()
    page = world.worklist.build(clinician("c-ana"), None, slice(100, 200))

    assert (page.total, everyone.total) == (250, 250)
    assert [r.patient_id for r in page.items] == [r.patient_id for r in everyone.items[100:200]]
    assert {r.held_messages_today for r in page.items} == {1}  # the rows shown are read in full
    assert sorted(e["patient_id"] for e in world.audit_log.entries) == sorted(r.patient_id for r in page.items)
    assert [r.patient_id for r in world.worklist.build(clinician("c-ana"), None, slice(200, 300)).items] == [
        r.patient_id for r in everyone.items[200:]
    ]


def test_the_not_reviewed_filter_reads_every_review_before_it_pages(world: World) -> None:
    for n in range(150):
        world.add(f"p-{n:03d}", last_reading_at=world.read(0))
    for n in range(0, 150, 2):
        world.reviews.mark(f"p-{n:03d}", iso(NOW), "c-ana", None)

    page = world.worklist.build(clinician("c-ana"), WorklistFilter(not_reviewed=True), slice(0, 100))

    assert page.total == 75
    assert all(int(r.patient_id[2:]) % 2 == 1 for r in page.items) and len(page.items) == 75
