"""Alert rules: slots, upgrades, and the two trend rules of clinical.md."""

from __future__ import annotations

from chalicelib.domain.alerts import alert_for_severity, is_worse, recurrent_lows, slot_of, sustained_high


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
