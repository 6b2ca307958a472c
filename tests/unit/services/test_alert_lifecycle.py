"""The alert lifecycle on the fakes: open, join, upgrade, re-page after 60 minutes, late readings never page.

docs/clinical.md "Safety net" rules 1-4, as the stream drives them (``on_reading``)
and as inbound messages do (``red_flag``, ``unreachable``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from chalicelib.domain.alerts import TransitionIn
from tests.unit.services.conftest import World, clinician_principal

CRITICAL_LOW, LOW, CRITICAL_HIGH, HIGH = 40, 65, 450, 250

# (reader, args, condition, priority) for one reading of each condition and severity.
READINGS: dict[str, tuple[str, tuple[Any, ...], str, str]] = {
    "glucose critical low": ("glucose", (CRITICAL_LOW,), "glucose_low", "critical"),
    "glucose low": ("glucose", (LOW,), "glucose_low", "routine"),
    "glucose critical high": ("glucose", (CRITICAL_HIGH,), "glucose_high", "critical"),
    "glucose high": ("glucose", (HIGH,), "glucose_high", "routine"),
    "bp crisis": ("bp", (190, 100), "bp_high", "critical"),
    "bp high": ("bp", (150, 95), "bp_high", "routine"),
    "bp critical low": ("bp", (60, 40), "bp_low", "critical"),
    "bp low": ("bp", (85, 55), "bp_low", "routine"),
    "pulse critical": ("bp", (118, 76, "p-1", timedelta(0), 35), "pulse", "critical"),
}


def take(world: World, name: str) -> dict[str, Any]:
    reader, args, _, _ = READINGS[name]
    reading: dict[str, Any] = getattr(world, reader)(*args)
    return reading


def acknowledge(world: World, alert_id: str, by: str = "c-ana") -> None:
    world.service.transition(clinician_principal(by), alert_id, "acknowledge", TransitionIn())


def resolve(world: World, alert_id: str, by: str = "c-ana") -> None:
    world.service.transition(clinician_principal(by), alert_id, "resolve", TransitionIn())


# -- opening --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(READINGS))
def test_an_abnormal_reading_opens_one_alert_of_its_condition_and_priority(world: World, name: str) -> None:
    _, _, condition, priority = READINGS[name]

    take(world, name)

    alert = world.reading_alert()
    assert (alert["condition"], alert["priority"], alert["status"]) == (condition, priority, "open")
    assert alert["occurrences"] == 1


@pytest.mark.parametrize("name", sorted(n for n in READINGS if READINGS[n][3] == "critical"))
def test_a_critical_reading_pages_the_care_team_at_once(world: World, name: str) -> None:
    take(world, name)

    pages = world.pages()
    assert {p.recipient.id for p in pages} == {"c-ana"}
    assert {p.template for p in pages} == {"alert_page_clinician"}
    assert all(p.priority == "safety" for p in pages)


@pytest.mark.parametrize("name", sorted(n for n in READINGS if READINGS[n][3] == "routine"))
def test_a_routine_reading_pages_nobody_and_is_not_due_for_escalation(world: World, name: str) -> None:
    take(world, name)

    assert world.pages() == []
    assert world.alerts.due_escalations(world.clock() + timedelta(days=1)) == []


@pytest.mark.parametrize("name", sorted(n for n in READINGS if READINGS[n][3] == "critical"))
def test_a_critical_reading_sends_the_patient_a_safety_message_for_its_condition(world: World, name: str) -> None:
    _, _, condition, _ = READINGS[name]

    reading = take(world, name)

    safety = [i for i in world.outbox.sent() if i.intent_id.startswith("safety:")]
    assert [(i.recipient.kind, i.recipient.id) for i in safety] == [("patient", "p-1")]
    assert safety[0].params["condition"] == condition
    assert safety[0].correlation_id == reading["request_id"]


def test_a_normal_reading_opens_nothing_and_sends_nothing(world: World) -> None:
    world.glucose(120)

    assert world.alerts.of_patient("p-1") == []
    assert world.outbox.sent() == []


def test_opening_writes_the_opened_event_naming_who_was_paged(world: World) -> None:
    take(world, "glucose critical low")

    [event] = world.timeline.of("p-1", "alert_opened")
    assert event["summary"] == "Critical alert opened: glucose low; paging care team c-ana"
    assert event["ref"] == {"alert_id": world.reading_alert()["alert_id"]}


def test_the_opened_event_follows_the_reading_by_a_millisecond(world: World) -> None:
    reading = take(world, "glucose critical low")

    [event] = world.timeline.of("p-1", "alert_opened")
    assert event["at"] > reading["received_at"]


def test_an_opened_critical_alert_is_due_for_escalation_fifteen_minutes_later(world: World) -> None:
    take(world, "glucose critical low")

    assert world.alerts.due_escalations(world.clock() + timedelta(minutes=14, seconds=59)) == []
    assert len(world.alerts.due_escalations(world.clock() + timedelta(minutes=15))) == 1


def test_an_alert_for_an_unknown_patient_is_not_opened(world: World) -> None:
    world.glucose(CRITICAL_LOW, pid="p-nobody")

    assert world.alerts.of_patient("p-nobody") == []
    assert world.outbox.sent() == []


# -- joining (rule 1) -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("glucose low", "glucose low"),
        ("glucose high", "glucose high"),
        ("bp high", "bp high"),
        ("bp low", "bp low"),
        ("glucose critical low", "glucose low"),
        ("glucose critical high", "glucose high"),
        ("bp crisis", "bp high"),
        ("bp critical low", "bp low"),
        ("pulse critical", "pulse critical"),
    ],
)
def test_a_second_reading_of_the_same_condition_joins_the_open_alert(world: World, first: str, second: str) -> None:
    take(world, first)
    world.clock.advance(minutes=5)

    take(world, second)

    alert = world.reading_alert()
    assert alert["occurrences"] == 2
    assert len(alert["reading_ids"]) == 2
    assert len(world.timeline.of("p-1", "alert_joined")) == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("glucose low", "glucose high"),
        ("glucose critical low", "bp crisis"),
        ("bp crisis", "glucose critical high"),
        ("bp high", "bp low"),
        ("bp crisis", "pulse critical"),
        ("glucose low", "bp low"),
        ("glucose critical high", "glucose critical low"),
    ],
)
def test_readings_of_different_conditions_never_share_an_alert(world: World, first: str, second: str) -> None:
    take(world, first)
    world.clock.advance(minutes=5)

    take(world, second)

    alerts = world.alerts.of_patient("p-1")
    assert len(alerts) == 2
    assert {a["condition"] for a in alerts} == {READINGS[first][2], READINGS[second][2]}


def test_a_bp_crisis_never_joins_an_acknowledged_glucose_alert(world: World) -> None:
    take(world, "glucose low")
    acknowledge(world, world.reading_alert()["alert_id"])
    world.outbox.take()

    take(world, "bp crisis")

    crisis = [a for a in world.alerts.of_patient("p-1") if a["condition"] == "bp_high"]
    assert len(crisis) == 1 and crisis[0]["priority"] == "critical"
    assert world.paged() == {"c-ana"}


def test_a_redelivered_reading_is_counted_once_and_pages_nobody_twice(world: World) -> None:
    reading = take(world, "glucose critical low")
    world.clock.advance(minutes=61)
    again = world.glucose(CRITICAL_LOW, reading_id="r-again")
    first_pages = world.outbox.sent()

    world.service.on_reading(again, world.patients.get("p-1"))
    world.service.on_reading(reading, world.patients.get("p-1"))

    alert = world.reading_alert()
    assert alert["occurrences"] == 2
    assert sorted(alert["reading_ids"]) == sorted([reading["reading_id"], "r-again"])
    assert world.outbox.sent() == first_pages


def test_a_reading_joining_a_resolved_alerts_condition_opens_a_new_alert(world: World) -> None:
    take(world, "glucose high")
    resolve(world, world.reading_alert()["alert_id"])

    take(world, "glucose high")

    statuses = sorted(a["status"] for a in world.alerts.of_patient("p-1"))
    assert statuses == ["open", "resolved"]


# -- upgrading ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("routine", "critical"),
    [
        ("glucose low", "glucose critical low"),
        ("glucose high", "glucose critical high"),
        ("bp high", "bp crisis"),
        ("bp low", "bp critical low"),
    ],
)
def test_a_critical_reading_upgrades_the_open_routine_alert_and_pages(
    world: World, routine: str, critical: str
) -> None:
    take(world, routine)
    world.clock.advance(minutes=10)

    take(world, critical)

    alert = world.reading_alert()
    assert (alert["priority"], alert["status"], alert["occurrences"]) == ("critical", "open", 2)
    assert world.paged() == {"c-ana"}
    [event] = world.timeline.of("p-1", "alert_escalated")
    assert event["summary"].startswith("Alert upgraded to critical")


def test_an_upgraded_alert_is_due_for_escalation_fifteen_minutes_after_the_critical_reading(world: World) -> None:
    take(world, "glucose low")
    world.clock.advance(minutes=10)
    take(world, "glucose critical low")

    assert world.alerts.due_escalations(world.clock() + timedelta(minutes=14)) == []
    assert len(world.alerts.due_escalations(world.clock() + timedelta(minutes=15))) == 1


def test_an_acknowledged_routine_alert_reopens_when_a_critical_reading_upgrades_it(world: World) -> None:
    take(world, "glucose low")
    acknowledge(world, world.reading_alert()["alert_id"])

    take(world, "glucose critical low")

    alert = world.reading_alert()
    assert (alert["priority"], alert["status"]) == ("critical", "open")
    assert "acknowledged_by" not in alert


def test_an_alert_is_upgraded_once_the_next_critical_reading_joins_without_a_second_upgrade(world: World) -> None:
    take(world, "glucose low")
    take(world, "glucose critical low")
    world.outbox.take()
    world.clock.advance(minutes=5)

    take(world, "glucose critical low")

    assert world.pages() == []
    assert len(world.timeline.of("p-1", "alert_escalated")) == 1
    assert world.reading_alert()["occurrences"] == 3


# -- re-paging (rule 2) ---------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [1, 15, 30, 44, 59])
def test_a_critical_reading_within_the_hour_of_the_last_page_does_not_page_again(world: World, minutes: int) -> None:
    take(world, "glucose critical low")
    world.pages()
    world.clock.advance(minutes=minutes)

    take(world, "glucose critical low")

    assert world.pages() == []
    assert world.reading_alert()["occurrences"] == 2


@pytest.mark.parametrize("minutes", [60, 61, 90, 180, 24 * 60])
def test_a_critical_reading_an_hour_or_more_after_the_last_page_pages_again(world: World, minutes: int) -> None:
    take(world, "glucose critical low")
    alert_id = world.reading_alert()["alert_id"]
    acknowledge(world, alert_id)  # no escalation in between: the last page is the opening one
    world.pages()
    world.clock.advance(minutes=minutes)

    take(world, "glucose critical low")

    assert world.paged() == {"c-ana"}
    alert = world.reading_alert()
    assert alert["status"] == "open"
    assert alert["escalation_level"] == 0


@pytest.mark.parametrize("minutes", [60, 120])
def test_an_old_acknowledgment_does_not_silence_a_new_crisis(world: World, minutes: int) -> None:
    take(world, "bp crisis")
    alert_id = world.reading_alert()["alert_id"]
    acknowledge(world, alert_id)
    world.pages()
    world.clock.advance(minutes=minutes)

    take(world, "bp crisis")

    alert = world.reading_alert()
    assert alert["status"] == "open"
    assert "acknowledged_by" not in alert
    assert world.paged() == {"c-ana"}
    [event] = world.timeline.of("p-1", "alert_escalated")
    assert "acknowledged alert reopened" in event["summary"]


def test_an_acknowledgment_within_the_hour_keeps_the_alert_acknowledged(world: World) -> None:
    take(world, "bp crisis")
    acknowledge(world, world.reading_alert()["alert_id"])
    world.pages()
    world.clock.advance(minutes=30)

    take(world, "bp crisis")

    assert world.reading_alert()["status"] == "acknowledged"
    assert world.pages() == []


def test_a_reopened_alert_is_on_the_care_teams_open_list_again(world: World) -> None:
    take(world, "bp crisis")
    alert_id = world.reading_alert()["alert_id"]
    acknowledge(world, alert_id)
    world.clock.advance(minutes=60)

    take(world, "bp crisis")

    assert [e["alert_id"] for e in world.alerts.clinician_entries("c-ana", "open")] == [alert_id]
    assert world.alerts.clinician_entries("c-ana", "acknowledged") == []


def test_a_re_page_restarts_escalation_fifteen_minutes_after_the_new_crisis(world: World) -> None:
    take(world, "bp crisis")
    acknowledge(world, world.reading_alert()["alert_id"])
    world.clock.advance(minutes=60)

    take(world, "bp crisis")

    assert world.alerts.due_escalations(world.clock() + timedelta(minutes=14)) == []
    assert len(world.alerts.due_escalations(world.clock() + timedelta(minutes=15))) == 1


def test_two_critical_readings_in_one_hour_after_the_page_page_once(world: World) -> None:
    take(world, "glucose critical low")
    acknowledge(world, world.reading_alert()["alert_id"])
    world.pages()
    world.clock.advance(minutes=61)

    take(world, "glucose critical low")
    world.clock.advance(minutes=1)
    take(world, "glucose critical low")

    assert len(world.pages()) == 1


# -- safety messages (rule 3) ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "again"), [(1, False), (5, False), (14, False), (15, True), (16, True), (60, True)]
)
def test_at_most_one_safety_message_per_condition_per_fifteen_minutes(world: World, minutes: int, again: bool) -> None:
    take(world, "glucose critical low")
    world.outbox.take()
    world.clock.advance(minutes=minutes)

    take(world, "glucose critical low")

    safety = [i for i in world.outbox.take() if i.intent_id.startswith("safety:")]
    assert len(safety) == (1 if again else 0)


def test_each_condition_has_its_own_safety_message_allowance(world: World) -> None:
    take(world, "glucose critical low")
    world.clock.advance(minutes=1)

    take(world, "bp crisis")

    safety = [i for i in world.outbox.sent() if i.intent_id.startswith("safety:")]
    assert sorted(i.params["condition"] for i in safety) == ["bp_high", "glucose_low"]


def test_a_redelivered_critical_reading_re_enqueues_the_same_safety_message(world: World) -> None:
    reading = take(world, "glucose critical low")
    first = [i.intent_id for i in world.outbox.take() if i.intent_id.startswith("safety:")]

    world.service.on_reading(reading, world.patients.get("p-1"))

    again = [i.intent_id for i in world.outbox.take() if i.intent_id.startswith("safety:")]
    assert again == first


@pytest.mark.parametrize("name", sorted(n for n in READINGS if READINGS[n][3] == "routine"))
def test_a_routine_reading_sends_no_safety_message(world: World, name: str) -> None:
    take(world, name)

    assert [i for i in world.outbox.sent() if i.intent_id.startswith("safety:")] == []


# -- late readings (rule 4) -----------------------------------------------------------------------


@pytest.mark.parametrize("hours", [6.01, 7, 12, 24, 72])
@pytest.mark.parametrize("value", [CRITICAL_LOW, CRITICAL_HIGH])
def test_a_late_critical_reading_opens_a_routine_alert_and_never_pages(world: World, hours: float, value: int) -> None:
    world.glucose(value, measured_ago=timedelta(hours=hours))

    alert = world.reading_alert()
    assert alert["priority"] == "routine"
    assert world.outbox.sent() == []
    assert world.alerts.due_escalations(world.clock() + timedelta(days=2)) == []
    [event] = world.timeline.of("p-1", "alert_opened")
    assert "late reading" in event["summary"]


def test_a_reading_measured_exactly_six_hours_ago_is_current_and_pages(world: World) -> None:
    world.glucose(CRITICAL_LOW, measured_ago=timedelta(hours=6))

    assert world.reading_alert()["priority"] == "critical"
    assert world.paged() == {"c-ana"}


def test_a_late_critical_reading_joining_an_open_critical_alert_an_hour_on_pages_nobody(world: World) -> None:
    take(world, "glucose critical low")
    world.pages()
    world.clock.advance(minutes=90)

    world.glucose(CRITICAL_LOW, measured_ago=timedelta(hours=8))

    assert world.pages() == []
    assert world.reading_alert()["occurrences"] == 2


def test_a_late_critical_reading_does_not_upgrade_a_routine_alert(world: World) -> None:
    take(world, "glucose low")

    world.glucose(CRITICAL_LOW, measured_ago=timedelta(hours=7))

    assert world.reading_alert()["priority"] == "routine"
    assert world.outbox.sent() == []


# -- trends ---------------------------------------------------------------------------------------


def test_two_lows_within_a_week_open_a_recurrent_lows_alert(world: World) -> None:
    world.glucose(LOW, measured_ago=timedelta(hours=5))

    world.glucose(LOW)

    kinds = sorted(a["kind"] for a in world.alerts.of_patient("p-1"))
    assert kinds == ["low", "recurrent_lows"]


def test_a_single_low_opens_no_recurrent_lows_alert(world: World) -> None:
    world.glucose(LOW)

    assert [a["kind"] for a in world.alerts.of_patient("p-1")] == ["low"]


def test_a_meter_lo_counts_as_a_low_for_the_trend(world: World) -> None:
    world.glucose(LOW, measured_ago=timedelta(hours=3))

    world.glucose(None, meter_flag="LO")

    assert "recurrent_lows" in {a["kind"] for a in world.alerts.of_patient("p-1")}


def test_a_reading_measured_before_the_trend_began_does_not_join_it(world: World) -> None:
    world.glucose(LOW, measured_ago=timedelta(hours=2))
    world.glucose(LOW, measured_ago=timedelta(hours=1))
    trend = next(a for a in world.alerts.of_patient("p-1") if a["kind"] == "recurrent_lows")

    world.glucose(LOW, measured_ago=timedelta(hours=3))

    again = next(a for a in world.alerts.of_patient("p-1") if a["kind"] == "recurrent_lows")
    assert again["occurrences"] == trend["occurrences"] == 1


def test_twelve_high_home_bp_readings_in_a_week_open_a_sustained_high_alert(world: World) -> None:
    for hours in range(12, 0, -1):
        world.bp(138, 84, measured_ago=timedelta(hours=hours * 6))

    kinds = {a["kind"] for a in world.alerts.of_patient("p-1")}
    assert "sustained_high_home_bp" in kinds


def test_eleven_high_home_bp_readings_are_not_yet_sustained(world: World) -> None:
    for hours in range(11, 0, -1):
        world.bp(138, 84, measured_ago=timedelta(hours=hours * 6))

    assert "sustained_high_home_bp" not in {a["kind"] for a in world.alerts.of_patient("p-1")}


# -- red flags and unreachable patients -----------------------------------------------------------


def test_a_red_flag_opens_a_critical_alert_and_pages_the_care_team(world: World) -> None:
    world.service.red_flag("p-1", world.clock(), "in-1")

    alert = world.reading_alert()
    assert (alert["kind"], alert["priority"]) == ("red_flag_message", "critical")
    assert world.paged() == {"c-ana"}


def test_the_same_red_flag_delivered_twice_opens_one_alert_counted_once(world: World) -> None:
    world.service.red_flag("p-1", world.clock(), "in-1")
    world.pages()

    world.service.red_flag("p-1", world.clock(), "in-1")

    assert world.reading_alert()["occurrences"] == 1
    assert world.pages() == []


def test_a_second_red_flag_joins_the_open_red_flag_alert(world: World) -> None:
    world.service.red_flag("p-1", world.clock(), "in-1")
    world.clock.advance(minutes=3)

    world.service.red_flag("p-1", world.clock(), "in-2")

    assert world.reading_alert()["occurrences"] == 2


def test_a_red_flag_an_hour_after_the_page_pages_again(world: World) -> None:
    world.service.red_flag("p-1", world.clock(), "in-1")
    acknowledge(world, world.reading_alert()["alert_id"])
    world.pages()
    world.clock.advance(minutes=60)

    world.service.red_flag("p-1", world.clock(), "in-2")

    assert world.paged() == {"c-ana"}


def test_an_unreachable_patient_opens_a_routine_alert_that_pages_nobody(world: World) -> None:
    world.service.unreachable("p-1", "msg-1")

    alert = world.reading_alert()
    assert (alert["kind"], alert["priority"], alert["opened_at"]) == (
        "unreachable_patient",
        "routine",
        "2026-03-02T09:00:00.000Z",
    )
    assert world.outbox.sent() == []


def test_a_red_flag_for_an_unknown_patient_opens_nothing(world: World) -> None:
    world.service.red_flag("p-nobody", world.clock(), "in-1")

    assert world.alerts.of_patient("p-nobody") == []


def test_a_reading_names_the_alert_it_opened_or_joined_once_and_a_normal_one_none(world: World) -> None:
    opening = take(world, "glucose critical low")
    world.clock.advance(minutes=5)
    normal = world.glucose(112)
    world.clock.advance(minutes=5)
    joining = world.glucose(CRITICAL_LOW + 5)
    alert_id = world.reading_alert()["alert_id"]

    world.service.on_reading(joining, world.patients.get("p-1"))  # a redelivery

    def named(reading: dict[str, Any]) -> Any:
        stored = world.readings.get("p-1", reading["reading_id"])
        assert stored is not None
        return stored.get("alert_id")

    assert (named(opening), named(normal), named(joining)) == (alert_id, None, alert_id)
    assert world.reading_alert()["occurrences"] == 2
