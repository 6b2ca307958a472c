"""The patient page's window statistics: hand-computed fixtures, every range boundary, and properties."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain import console_stats, trends
from chalicelib.domain.targets import BloodPressureTargetsIn, TargetsIn, default_targets, effective_targets

WEEK = trends.Window(date(2026, 11, 16), date(2026, 11, 22))
FORTNIGHT = trends.Window(date(2026, 11, 9), date(2026, 11, 22))


def _bucket(day: str, *values: Any) -> dict[str, Any]:
    """A day bucket as DynamoDB returns it: keys and attributes around the ``r_<reading id>`` values."""
    return {
        "pk": "PATIENT#p-1",
        "sk": f"DAY#blood_glucose#{day}",
        "entity": "day",
        "date": day,
        **{f"r_{day}-{n}": v for n, v in enumerate(values)},
    }


# -- windows ------------------------------------------------------------------------------------


def test_the_previous_window_has_the_same_length_and_ends_the_day_before() -> None:
    previous = console_stats.previous_window(WEEK)
    assert (previous.first, previous.last, previous.days) == (date(2026, 11, 9), date(2026, 11, 15), 7)
    span = console_stats.comparison_span(trends.Window(date(2026, 8, 25), date(2026, 11, 22)))
    assert (span.first, span.last, span.days) == (date(2026, 5, 27), date(2026, 11, 22), 180)


# -- glucose: a hand-computed window and its predecessor -------------------------------------------

CURRENT = [
    _bucket("2026-11-16", 53, 54, 69, 70),
    _bucket("2026-11-18", 180, 181, 250, 251, "HI", "LO"),
    _bucket("2026-11-22"),  # a bucket without readings is no day with readings
]
PREVIOUS = [_bucket("2026-11-10", 100, 200), _bucket("2026-11-12", Decimal("300"), "LO")]
OUTSIDE = [_bucket("2026-11-08", 40), _bucket("2026-11-23", 40)]


def test_glucose_window_statistics_by_hand() -> None:
    stats = console_stats.glucose_stats(CURRENT + PREVIOUS + OUTSIDE, WEEK)
    now = stats.current
    assert (now.first, now.last, now.days) == (WEEK.first, WEEK.last, 7)
    assert (now.count, now.days_with_readings, now.meter_lo, now.meter_hi) == (10, 2, 1, 1)
    assert now.readings_per_day == pytest.approx(10 / 7)
    # LO and HI have no number: the mean is over the eight numbers.
    assert now.mean_mg_dl == pytest.approx((53 + 54 + 69 + 70 + 180 + 181 + 250 + 251) / 8)  # 138.5
    # < 54: 53, LO; < 70: 53, 54, 69, LO; 70-180: 70, 180; > 180: 181, 250, 251, HI; > 250: 251, HI (of 10)
    assert (now.below_54_pct, now.below_70_pct, now.in_range_pct, now.above_180_pct, now.above_250_pct) == (
        20.0,
        40.0,
        20.0,
        40.0,
        20.0,
    )
    before = stats.previous
    # 100, 200, 300, LO: mean 200; < 54 LO; < 70 LO; in range 100; > 180 200, 300; > 250 300 (of 4)
    assert (before.count, before.days_with_readings, before.mean_mg_dl) == (4, 2, 200.0)
    assert (before.below_54_pct, before.below_70_pct, before.in_range_pct) == (25.0, 25.0, 25.0)
    assert (before.above_180_pct, before.above_250_pct) == (50.0, 25.0)
    change = stats.change
    assert change.readings_per_day == pytest.approx(6 / 7)
    assert change.days_with_readings == 0
    assert change.mean_mg_dl == pytest.approx(-61.5)
    assert (change.below_54_pct, change.below_70_pct, change.in_range_pct) == (-5.0, 15.0, -5.0)
    assert (change.above_180_pct, change.above_250_pct) == (-10.0, -5.0)


def test_the_chart_trend_is_the_current_window_only() -> None:
    trend = console_stats.glucose_stats(CURRENT + PREVIOUS + OUTSIDE, WEEK).trend
    assert (trend.first_date, trend.last_date, trend.count) == ("2026-11-16", "2026-11-22", 10)
    assert [d.date for d in trend.daily if d.count] == ["2026-11-16", "2026-11-18"]


def test_no_change_when_either_window_has_no_reading() -> None:
    only_now = console_stats.glucose_stats(CURRENT, WEEK)
    assert only_now.previous.count == 0
    assert only_now.previous.readings_per_day == 0.0
    assert only_now.previous.mean_mg_dl is None
    assert only_now.previous.below_70_pct is None
    assert set(vars(only_now.change).values()) == {None}
    only_before = console_stats.glucose_stats(PREVIOUS, WEEK)
    assert only_before.current.count == 0
    assert set(vars(only_before.change).values()) == {None}


def test_a_window_of_meter_flags_has_percentages_but_no_mean_and_no_mean_change() -> None:
    stats = console_stats.glucose_stats([_bucket("2026-11-20", "LO", "HI"), *PREVIOUS], WEEK)
    assert stats.current.mean_mg_dl is None
    assert (stats.current.below_54_pct, stats.current.above_250_pct, stats.current.in_range_pct) == (50.0, 50.0, 0.0)
    assert stats.change.mean_mg_dl is None
    assert stats.change.below_54_pct == 25.0


# Each boundary of docs/clinical.md's ranges, on both sides.  Columns: < 54, < 70, 70-180, > 180, > 250.
BOUNDARIES = [
    (53.9, (1, 1, 0, 0, 0)),
    (54.0, (0, 1, 0, 0, 0)),
    (69.9, (0, 1, 0, 0, 0)),
    (70.0, (0, 0, 1, 0, 0)),
    (180.0, (0, 0, 1, 0, 0)),
    (180.1, (0, 0, 0, 1, 0)),
    (250.0, (0, 0, 0, 1, 0)),
    (250.1, (0, 0, 0, 1, 1)),
    (Decimal("53.9"), (1, 1, 0, 0, 0)),  # DynamoDB numbers
    ("LO", (1, 1, 0, 0, 0)),
    ("HI", (0, 0, 0, 1, 1)),
]


@pytest.mark.parametrize(("value", "expected"), BOUNDARIES)
def test_range_boundaries(value: Any, expected: tuple[int, ...]) -> None:
    r = console_stats.count_ranges([value])
    assert (r.below_54, r.below_70, r.in_range, r.above_180, r.above_250) == expected
    assert r.count == 1


def test_a_string_that_is_no_meter_flag_is_no_reading() -> None:
    assert console_stats.count_ranges(["??", 100]).count == 1


glucose_values = st.one_of(
    st.floats(min_value=10, max_value=600, allow_nan=False).map(lambda v: round(v, 1)),
    st.sampled_from([53.9, 54.0, 69.9, 70.0, 180.0, 180.1, 250.0, 250.1, "LO", "HI"]),
)
day_offsets = st.integers(min_value=0, max_value=13)


@given(st.lists(st.tuples(day_offsets, glucose_values), max_size=60))
def test_percentages_are_bounded_nested_and_partition_the_readings(readings: list[tuple[int, Any]]) -> None:
    buckets: dict[str, dict[str, Any]] = {}
    for n, (offset, value) in enumerate(readings):
        day = (FORTNIGHT.first + timedelta(days=offset)).isoformat()
        buckets.setdefault(day, {"date": day})[f"r_{n:03d}"] = value
    for summary in (console_stats.glucose_summary(buckets.values(), w) for w in (WEEK, FORTNIGHT)):
        pcts = [summary.below_54_pct, summary.below_70_pct, summary.in_range_pct]
        pcts += [summary.above_180_pct, summary.above_250_pct]
        if summary.count == 0:
            assert pcts == [None] * 5
            continue
        b54, b70, tir, a180, a250 = (p for p in pcts if p is not None)
        assert all(0 <= p <= 100 for p in (b54, b70, tir, a180, a250))
        assert b54 <= b70
        assert a250 <= a180
        assert b70 + tir + a180 == pytest.approx(100)
        assert summary.days_with_readings <= summary.days


@given(st.lists(st.tuples(day_offsets, glucose_values), max_size=60))
def test_the_statistics_round_to_what_the_trend_api_says(readings: list[tuple[int, Any]]) -> None:
    """One set of ranges: the console's exact numbers are the API trend's before its rounding to 0.1."""
    buckets: dict[str, dict[str, Any]] = {}
    for n, (offset, value) in enumerate(readings):
        day = (FORTNIGHT.first + timedelta(days=offset)).isoformat()
        buckets.setdefault(day, {"date": day})[f"r_{n:03d}"] = value
    mine = console_stats.glucose_summary(buckets.values(), FORTNIGHT)
    api = trends.glucose_trend(list(buckets.values()), FORTNIGHT)

    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 1)

    assert (mine.count, mine.days_with_readings) == (api.count, api.days_with_readings)
    assert rounded(mine.below_54_pct) == api.below_54_pct
    assert rounded(mine.below_70_pct) == api.below_70_pct
    assert rounded(mine.in_range_pct) == api.time_in_range_pct
    assert rounded(mine.above_180_pct) == api.above_180_pct
    assert rounded(mine.above_250_pct) == api.above_250_pct
    if mine.mean_mg_dl is None:
        assert api.mean_mg_dl is None
    else:
        assert api.mean_mg_dl is not None
        assert abs(mine.mean_mg_dl - api.mean_mg_dl) <= 0.05 + 1e-9


# -- blood pressure ---------------------------------------------------------------------------------

BP = [
    {"date": "2026-11-09", "r_a": [Decimal(150), Decimal(85)], "r_b": [120, 95]},
    {"date": "2026-11-20", "r_c": [139, 89], "r_d": [140, 80], "r_e": [130, 90]},
    {"date": "2026-11-22", "r_f": [110, 70]},
    {"date": "2026-11-08", "r_g": [200, 130]},  # outside the window
]


def test_bp_window_and_seven_day_means_by_hand() -> None:
    stats = console_stats.bp_stats(BP, FORTNIGHT, default_targets())
    assert (stats.count, stats.days_with_readings, stats.days) == (6, 3, 14)
    assert stats.mean_systolic == pytest.approx(789 / 6)  # 131.5
    assert stats.mean_diastolic == pytest.approx(509 / 6)  # 84.83
    # the last 7 days, 16th to 22nd: 139/89, 140/80, 130/90, 110/70
    assert stats.count_7d == 4
    assert stats.mean_systolic_7d == pytest.approx(129.75)
    assert stats.mean_diastolic_7d == pytest.approx(82.25)
    # default targets 140/90, "at or above" either: 150/85, 120/95, 140/80, 130/90 (not 139/89, 110/70)
    assert (stats.target_systolic, stats.target_diastolic) == (140, 90)
    assert stats.at_or_above_target == 4
    assert stats.at_or_above_target_pct == pytest.approx(400 / 6)
    assert [d.date for d in stats.trend.daily] == ["2026-11-09", "2026-11-20", "2026-11-22"]


def test_bp_at_or_above_the_patients_own_target() -> None:
    personal = effective_targets(
        "standard", TargetsIn(blood_pressure=BloodPressureTargetsIn(systolic_high=130, diastolic_high=80))
    )
    stats = console_stats.bp_stats(BP, FORTNIGHT, personal)
    # 130/80: every reading but 110/70
    assert (stats.target_systolic, stats.target_diastolic, stats.at_or_above_target) == (130, 80, 5)


def test_targets_beyond_the_hard_limits_do_not_hide_a_stage_2_reading() -> None:
    stored = effective_targets(
        "standard", TargetsIn(blood_pressure=BloodPressureTargetsIn(systolic_high=170, diastolic_high=105))
    )
    buckets = [{"date": "2026-11-20", "r_a": [160, 70], "r_b": [120, 100], "r_c": [159, 99]}]
    stats = console_stats.bp_stats(buckets, WEEK, stored)
    assert (stats.target_systolic, stats.target_diastolic, stats.at_or_above_target) == (160, 100, 2)


def test_bp_without_readings() -> None:
    stats = console_stats.bp_stats([], WEEK, default_targets())
    assert (stats.count, stats.count_7d, stats.days_with_readings, stats.at_or_above_target) == (0, 0, 0, 0)
    assert (stats.mean_systolic, stats.mean_systolic_7d, stats.at_or_above_target_pct) == (None, None, None)
