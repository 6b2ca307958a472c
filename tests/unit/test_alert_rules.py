"""Alert rules: slots, upgrades, and the two trend rules of docs/clinical.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib.domain.alerts import (
    alert_for_severity,
    condition_of,
    is_late,
    is_worse,
    recurrent_lows,
    slot_of,
    sustained_high,
)
from chalicelib.services.alerts import describe_pages, realtime


def test_lows_share_a_slot_and_highs_share_another() -> None:
    assert slot_of("low") == slot_of("critical_low") == "low"
    assert slot_of("high") == slot_of("critical_high") == "high"
    assert slot_of("red_flag_message") == "red_flag_message"


def test_severity_maps_to_kind_and_priority() -> None:
    assert alert_for_severity("critical_low") == ("critical_low", "critical")
    assert alert_for_severity("high") == ("high", "routine")
    assert alert_for_severity("elevated") is None
    assert alert_for_severity("normal") is None


def test_only_a_critical_reading_upgrades_a_routine_alert() -> None:
    assert is_worse("critical", "routine")
    assert not is_worse("critical", "critical")
    assert not is_worse("routine", "critical")


def test_sustained_high_needs_twelve_readings_and_a_high_mean() -> None:
    high = [{"systolic": 138, "diastolic": 80}] * 12
    diastolic_only = [{"systolic": 125, "diastolic": 86}] * 12

    assert sustained_high(high)
    assert sustained_high(diastolic_only)
    assert not sustained_high(high[:11])
    assert not sustained_high([{"systolic": 134, "diastolic": 84}] * 20)


def test_two_lows_in_the_window_are_recurrent() -> None:
    assert recurrent_lows([{"value_mg_dl": 65}, {"value_mg_dl": 69.9}])
    assert recurrent_lows([{"value_mg_dl": 65}, {"meter_flag": "LO"}])
    assert not recurrent_lows([{"value_mg_dl": 65}, {"value_mg_dl": 70}])


def test_one_alert_per_condition_a_bp_crisis_and_a_glucose_crisis_are_different_conditions() -> None:
    assert condition_of("blood_glucose", "critical_high", "glucose_critical_high") == "glucose_high"
    assert condition_of("blood_glucose", "low", "glucose_low") == "glucose_low"
    assert condition_of("blood_pressure", "critical_high", "bp_critical_high") == "bp_high"
    assert condition_of("blood_pressure", "low", "bp_low") == "bp_low"
    assert condition_of("blood_pressure", "critical_low", "pulse_critical") == "pulse"
    assert condition_of("blood_pressure", "elevated", "bp_elevated") is None
    assert slot_of("critical_high", "bp_high") != slot_of("critical_high", "glucose_high")


def test_a_reading_measured_more_than_six_hours_before_it_arrived_is_late() -> None:
    arrived = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

    assert is_late(arrived - timedelta(hours=6, seconds=1), arrived)
    assert not is_late(arrived - timedelta(hours=6), arrived)
    assert not is_late(arrived - timedelta(minutes=5), arrived)


def test_the_timeline_never_says_paged_when_nobody_was() -> None:
    assert "nobody to page" in describe_pages({})
    assert describe_pages({"care team": ["c-1"], "on-call": ["c-9"]}) == "paging care team c-1; on-call c-9"


def test_only_a_phone_wakes_a_clinician() -> None:
    assert realtime({"phone": "+15551230001", "email": "a@b.example"})
    assert not realtime({"email": "a@b.example"})
    assert not realtime(None)
