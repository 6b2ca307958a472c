"""Escalation on the fakes (rule 6) and the daily digest (rule 14), driven by a minute tick.

Unacknowledged after 15 minutes: level 1 re-pages the care team and their
escalation contacts; 30 minutes: level 2 adds the on-call list; 45 minutes:
level 3 calls it by voice and marks the alert unanswered.  The timeline says
who was paged, and says so honestly when nobody could be.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.alerts import TransitionIn
from chalicelib.domain.timeutil import iso, parse_iso
from tests.unit.services.conftest import World, clinician_principal

CRITICAL_LOW = 40

# level -> (minutes after the page, who is paged, template)
LADDER = {
    1: (15, {"c-ana", "c-eve"}, "alert_escalation_clinician"),
    2: (30, {"c-ana", "c-eve", "c-oli"}, "alert_escalation_clinician"),
    3: (45, {"c-ana", "c-eve", "c-oli"}, "alert_escalation_voice"),
}


def open_critical(world: World) -> str:
    world.glucose(CRITICAL_LOW)
    world.outbox.take()
    return str(world.reading_alert()["alert_id"])


def escalations(world: World) -> list[str]:
    return [e["summary"] for e in world.timeline.of("p-1", "alert_escalated")]


@pytest.mark.parametrize("level", sorted(LADDER))
def test_each_level_of_the_ladder_pages_whom_rule_6_names(world: World, level: int) -> None:
    open_critical(world)
    minutes, _, _ = LADDER[level]
    world.advance(minutes - 1)
    world.pages()

    world.advance(1)

    pages = world.pages()
    assert {p.recipient.id for p in pages} == LADDER[level][1]
    assert {p.template for p in pages} == {LADDER[level][2]}
    assert world.reading_alert()["escalation_level"] == level


@pytest.mark.parametrize("minutes", [1, 5, 10, 14])
def test_nothing_escalates_before_fifteen_minutes(world: World, minutes: int) -> None:
    open_critical(world)

    world.advance(minutes)

    assert world.pages() == []
    assert world.reading_alert()["escalation_level"] == 0


@pytest.mark.parametrize("minutes", [46, 60, 120, 24 * 60])
def test_the_ladder_stops_at_level_three(world: World, minutes: int) -> None:
    open_critical(world)

    world.advance(minutes)

    alert = world.reading_alert()
    assert alert["escalation_level"] == 3
    assert alert["unanswered"] is True
    assert len(escalations(world)) == 3
    assert world.alerts.due_escalations(world.clock() + timedelta(days=7)) == []


def test_level_three_marks_the_alert_unanswered_on_every_list(world: World) -> None:
    alert_id = open_critical(world)

    world.advance(45)

    assert world.service.get(clinician_principal("c-ana"), alert_id).unanswered is True
    for owner in ("c-ana", None):
        entries = world.alerts.entries[owner]
        assert [e.get("unanswered") for e in entries.values() if e["alert_id"] == alert_id] == [True]


@pytest.mark.parametrize("level", [1, 2])
def test_levels_before_the_last_do_not_mark_the_alert_unanswered(world: World, level: int) -> None:
    open_critical(world)

    world.advance(LADDER[level][0])

    assert "unanswered" not in world.reading_alert()


def test_the_timeline_records_each_level_and_whom_it_paged(world: World) -> None:
    open_critical(world)

    world.advance(45)

    assert escalations(world) == [
        "Critical alert escalated to level 1: paging care team c-ana; escalation contact c-eve",
        "Critical alert escalated to level 2: paging care team c-ana; escalation contact c-eve; on-call c-oli",
        "Critical alert escalated to level 3 and marked unanswered: "
        "paging care team c-ana; escalation contact c-eve; on-call c-oli",
    ]


def test_an_escalation_page_goes_out_as_of_its_due_time_even_when_the_tick_is_late(world: World) -> None:
    open_critical(world)
    opened = world.clock()

    world.clock.advance(minutes=22)
    world.tick()

    pages = world.pages()
    assert {p.created_at for p in pages} == {opened + timedelta(minutes=15)}
    assert {p.params["minutes"] for p in pages} == {15}


def test_a_late_tick_catches_up_one_level_per_tick(world: World) -> None:
    open_critical(world)
    world.clock.advance(minutes=50)

    world.tick()
    world.tick()
    world.tick()

    assert world.reading_alert()["escalation_level"] == 3
    assert len(escalations(world)) == 3


@pytest.mark.parametrize("at_minute", [1, 10, 14])
def test_an_acknowledged_alert_does_not_escalate(world: World, at_minute: int) -> None:
    alert_id = open_critical(world)
    world.advance(at_minute)

    world.service.transition(clinician_principal("c-ana"), alert_id, "acknowledge", TransitionIn())
    world.advance(60)

    assert world.pages() == []
    assert world.reading_alert()["escalation_level"] == 0


@pytest.mark.parametrize(("acted_at", "reached"), [(16, 1), (31, 2), (44, 2)])
def test_acting_on_an_alert_stops_the_ladder_where_it_is(world: World, acted_at: int, reached: int) -> None:
    alert_id = open_critical(world)
    world.advance(acted_at)

    world.service.transition(clinician_principal("c-ana"), alert_id, "resolve", TransitionIn())
    world.advance(60)

    assert world.reading_alert()["escalation_level"] == reached
    assert len(escalations(world)) == reached


def test_a_repeated_tick_escalates_once(world: World) -> None:
    open_critical(world)
    world.clock.advance(minutes=15)
    [item] = world.alerts.due_escalations(world.clock())

    world.service.escalate_due(item, world.clock())
    world.service.escalate_due(item, world.clock())

    assert world.reading_alert()["escalation_level"] == 1
    assert len(escalations(world)) == 1
    assert len(world.pages()) == 2


def test_a_stale_due_item_read_before_an_acknowledgment_pages_nobody(world: World) -> None:
    alert_id = open_critical(world)
    world.clock.advance(minutes=15)
    [item] = world.alerts.due_escalations(world.clock())
    world.service.transition(clinician_principal("c-ana"), alert_id, "acknowledge", TransitionIn())

    world.service.escalate_due(item, world.clock())

    assert world.pages() == []
    assert escalations(world) == []


def test_a_due_item_of_an_earlier_round_does_nothing_after_a_re_page(world: World) -> None:
    alert_id = open_critical(world)
    world.clock.advance(minutes=15)
    [old] = world.alerts.due_escalations(world.clock())
    world.service.transition(clinician_principal("c-ana"), alert_id, "acknowledge", TransitionIn())
    world.clock.advance(minutes=60)
    world.glucose(CRITICAL_LOW)
    world.outbox.take()

    world.service.escalate_due(old, world.clock())

    assert world.reading_alert()["escalation_level"] == 0
    assert world.pages() == []


# -- a restarted ladder ---------------------------------------------------------------------------


def test_a_re_paged_alert_climbs_the_ladder_again_and_every_step_pages(world: World) -> None:
    open_critical(world)
    world.advance(45 + 60)  # the last page (level 3) an hour old
    world.pages()
    assert world.reading_alert()["unanswered"] is True

    world.glucose(CRITICAL_LOW)
    first = world.pages()
    world.advance(45)
    steps = world.pages()

    assert {p.recipient.id for p in first} == {"c-ana"}
    alert = world.reading_alert()
    assert alert["escalation_level"] == 3
    assert alert["unanswered"] is True
    assert len(escalations(world)) == 1 + 3 + 3  # the re-page, then three levels of each round
    assert {p.template for p in steps} == {"alert_escalation_clinician", "alert_escalation_voice"}
    assert len(steps) == 2 + 3 + 3


def test_a_re_page_clears_unanswered_until_the_new_round_reaches_level_three(world: World) -> None:
    open_critical(world)
    world.advance(45 + 60)

    world.glucose(CRITICAL_LOW)
    world.advance(30)

    alert = world.reading_alert()
    assert alert["escalation_level"] == 2
    assert "unanswered" not in alert


def test_the_pages_of_two_rounds_have_distinct_ids(world: World) -> None:
    open_critical(world)
    world.advance(20)
    first = {p.intent_id for p in world.pages()}
    alert_id = world.reading_alert()["alert_id"]
    world.service.transition(clinician_principal("c-ana"), alert_id, "acknowledge", TransitionIn())
    world.clock.advance(minutes=60)
    world.glucose(CRITICAL_LOW)
    world.pages()

    world.advance(20)

    second = {p.intent_id for p in world.pages()}
    assert first and second and not first & second


# -- nobody to page -------------------------------------------------------------------------------


def test_an_escalation_with_nobody_to_page_says_so_and_sends_nothing(world: World) -> None:
    world.clinician("c-nia", phone=False)
    world.patients.put({"patient_id": "p-1", "care_team": ["c-nobody"], "timezone": "UTC"})
    world.on_call()
    world.glucose(CRITICAL_LOW)

    world.advance(15)

    assert world.pages() == []
    [event] = world.timeline.of("p-1", "alert_escalated")
    assert "nobody to page" in event["summary"]
    assert "paging" not in event["summary"]


def test_an_alert_opened_with_nobody_to_page_records_that_on_the_timeline(world: World) -> None:
    world.patients.put({"patient_id": "p-1", "care_team": ["c-nobody"], "timezone": "UTC"})
    world.on_call()

    world.glucose(CRITICAL_LOW)

    [event] = world.timeline.of("p-1", "alert_opened")
    assert event["summary"].endswith("nobody to page (no reachable care team, escalation contact or on-call clinician)")
    assert world.pages() == []


def test_the_on_call_list_reached_at_level_two_when_the_team_has_no_contacts(world: World) -> None:
    world.clinician("c-ana")  # no escalation contacts
    open_critical(world)

    world.advance(15)
    level_one = world.paged()
    world.advance(15)
    level_two = world.paged()

    assert level_one == {"c-ana"}
    assert level_two == {"c-ana", "c-oli"}


def test_escalation_pages_the_patients_current_care_team(world: World) -> None:
    world.clinician("c-ben")
    open_critical(world)
    world.patient(care_team=("c-ben",))

    world.advance(15)

    assert world.paged() == {"c-ben"}


# -- the daily digest (rule 14) -------------------------------------------------------------------


def test_a_scheduled_digest_is_due_at_the_next_08_00_local(world: World) -> None:
    world.clock.now = parse_iso("2026-03-02T20:00:00Z")

    world.service.schedule_digest("c-ana", "America/New_York", world.clock())

    assert world.alerts.digest("c-ana")["due_at"] == "2026-03-03T13:00:00.000Z"


def test_the_digest_counts_routine_alerts_and_stage_1_readings_by_email_only(world: World) -> None:
    world.service.schedule_digest("c-ana", "UTC", world.clock())
    world.glucose(250)
    stage1 = world.bp(135, 85)
    world.service.note_for_digest(stage1, world.patients.get("p-1") or {})
    world.outbox.take()

    world.clock.now = parse_iso("2026-03-03T08:00:00Z")
    world.tick()

    [digest] = world.outbox.take()
    assert (digest.template, digest.only_channels) == ("digest_clinician", ["email"])
    assert digest.params == {"count": 1, "stage1": 1}


def test_no_digest_is_sent_when_there_is_nothing_to_count(world: World) -> None:
    world.service.schedule_digest("c-ana", "UTC", world.clock())

    world.clock.now = parse_iso("2026-03-03T08:00:00Z")
    world.tick()

    assert world.outbox.take() == []
    assert world.alerts.digest("c-ana")["due_at"] == "2026-03-04T08:00:00.000Z"


def test_a_stage_1_reading_redelivered_is_counted_once(world: World) -> None:
    world.service.schedule_digest("c-ana", "UTC", world.clock())
    stage1 = world.bp(135, 85)
    world.service.note_for_digest(stage1, world.patients.get("p-1") or {})
    world.service.note_for_digest(stage1, world.patients.get("p-1") or {})

    world.clock.now = parse_iso("2026-03-03T08:00:00Z")
    world.tick()

    [digest] = world.outbox.take()
    assert digest.params["stage1"] == 1


def test_a_digest_counts_what_came_since_the_last_one_only(world: World) -> None:
    world.service.schedule_digest("c-ana", "UTC", world.clock())
    world.service.note_for_digest(world.bp(135, 85), world.patients.get("p-1") or {})
    world.clock.now = parse_iso("2026-03-03T08:00:00Z")
    world.tick()
    world.outbox.take()

    world.clock.now = parse_iso("2026-03-04T08:00:00Z")
    world.tick()

    assert world.outbox.take() == []


def test_two_ticks_racing_over_one_digest_send_it_once(world: World) -> None:
    world.service.schedule_digest("c-ana", "UTC", world.clock())
    world.glucose(250)
    world.outbox.take()
    world.clock.now = parse_iso("2026-03-03T08:00:00Z")
    [due] = world.alerts.due_digests(world.clock())

    world.service.send_digest(due, world.clock())
    world.service.send_digest(due, world.clock())

    assert len(world.outbox.take()) == 1


@pytest.mark.parametrize("reading", [(150, 95), (120, 70), (190, 100)])
def test_only_stage_1_readings_are_noted_for_the_digest(world: World, reading: tuple[int, int]) -> None:
    world.service.schedule_digest("c-ana", "UTC", world.clock())

    world.service.note_for_digest(world.bp(*reading), world.patients.get("p-1") or {})

    assert "stage1_readings" not in (world.alerts.digest("c-ana") or {})


def test_a_reading_for_a_clinician_without_a_digest_is_not_noted(world: World) -> None:
    world.service.note_for_digest(world.bp(135, 85), world.patients.get("p-1") or {})

    assert world.alerts.digest("c-ana") is None


def test_the_digest_item_keeps_its_timezone_across_days(world: World) -> None:
    world.clock.now = parse_iso("2026-03-07T12:00:00Z")
    world.service.schedule_digest("c-ana", "America/New_York", world.clock())
    world.glucose(250)

    world.clock.now = parse_iso("2026-03-08T13:00:00Z")  # DST starts in New York on 8 March
    world.tick()

    assert world.alerts.digest("c-ana")["due_at"] == iso(parse_iso("2026-03-09T12:00:00Z"))
