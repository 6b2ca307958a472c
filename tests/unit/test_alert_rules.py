"""Alert rules: slots, upgrades, and the two trend rules of docs/clinical.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.alerts import (
    ESCALATE_AFTER,
    MAX_ESCALATION,
    alert_for_severity,
    alert_id_for,
    condition_of,
    describe_pages,
    escalation_step,
    is_late,
    is_opaque_alert_id,
    is_worse,
    legacy_patient_of_alert,
    may_repage,
    next_digest,
    page_template,
    realtime,
    recurrent_lows,
    slot_of,
    sustained_high,
)


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


def test_an_alert_page_first_then_escalations_then_a_voice_call_at_the_last_level() -> None:
    assert [page_template(level) for level in range(4)] == [
        "alert_page_clinician",
        "alert_escalation_clinician",
        "alert_escalation_clinician",
        "alert_escalation_voice",
    ]


@given(level=st.integers(min_value=0, max_value=2), minute=st.integers(min_value=0, max_value=10_000))
def test_each_escalation_step_is_one_level_up_and_due_fifteen_minutes_later_until_the_last(
    level: int, minute: int
) -> None:
    due = datetime(2026, 3, 2, tzinfo=UTC) + timedelta(minutes=minute)

    new_level, next_due, unanswered = escalation_step(level, due)

    assert new_level == level + 1
    assert next_due == (None if new_level == MAX_ESCALATION else due + ESCALATE_AFTER)
    assert unanswered is (new_level == MAX_ESCALATION)


@given(minutes=st.integers(min_value=0, max_value=600))
def test_a_page_may_be_repeated_only_from_an_hour_after_the_last(minutes: int) -> None:
    last = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    assert may_repage(last, last + timedelta(minutes=minutes)) is (minutes >= 60)


@given(
    now=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
    zone=st.sampled_from(["UTC", "America/New_York", "Europe/Paris", "Australia/Sydney", "Asia/Kolkata"]),
)
def test_the_next_digest_is_the_first_0800_local_strictly_after_now(now: datetime, zone: str) -> None:
    from zoneinfo import ZoneInfo

    due = next_digest(now, zone)

    local = due.astimezone(ZoneInfo(zone))
    assert (local.hour, local.minute) == (8, 0)
    assert now < due <= now + timedelta(hours=25)


def test_the_next_digest_follows_the_clocks_change() -> None:
    before = datetime(2026, 3, 7, 14, 0, tzinfo=UTC)  # New York, the day before DST starts

    assert next_digest(before, "America/New_York") == datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


@given(patient=st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True), origin=st.text(max_size=40))
def test_an_alert_id_is_opaque_and_deterministic_from_its_patient_and_origin(patient: str, origin: str) -> None:
    alert_id = alert_id_for(patient, origin)

    assert alert_id == alert_id_for(patient, origin)
    assert is_opaque_alert_id(alert_id)
    assert alert_id != alert_id_for(patient + "x", origin)


def test_a_legacy_alert_id_names_its_patient_and_nonsense_names_nobody() -> None:
    import base64

    legacy = base64.urlsafe_b64encode(b"p-1").decode().rstrip("=") + "." + "0" * 16

    assert legacy_patient_of_alert(legacy) == "p-1"
    assert legacy_patient_of_alert("a-0123456789abcdef01234567") is None
    assert legacy_patient_of_alert("nonsense") is None
    assert legacy_patient_of_alert("!!!." + "0" * 16) is None
