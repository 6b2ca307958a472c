"""Local-time schedules: DST-correct, once per occurrence, catching up once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.schedules import WEEKDAYS, latest_occurrence, next_occurrence, occurrences, wall_clock

EVERY_DAY = list(WEEKDAYS)


def test_8am_new_york_is_13z_in_winter_and_12z_in_summer() -> None:
    winter = next_occurrence(["08:00"], EVERY_DAY, "America/New_York", datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    summer = next_occurrence(["08:00"], EVERY_DAY, "America/New_York", datetime(2027, 6, 1, 0, 0, tzinfo=UTC))

    assert winter == datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert summer == datetime(2027, 6, 1, 12, 0, tzinfo=UTC)


def test_a_time_in_the_spring_forward_gap_fires_once_at_the_first_valid_minute() -> None:
    # 2027-03-14: New York clocks jump from 02:00 EST to 03:00 EDT.
    fired = occurrences(
        ["02:30"],
        EVERY_DAY,
        "America/New_York",
        datetime(2027, 3, 13, 12, tzinfo=UTC),
        datetime(2027, 3, 15, 12, tzinfo=UTC),
    )

    assert fired == [
        datetime(2027, 3, 14, 7, 0, tzinfo=UTC),  # 03:00 EDT, the first valid minute after 02:30
        datetime(2027, 3, 15, 6, 30, tzinfo=UTC),  # 02:30 EDT the next day
    ]


def test_a_repeated_time_on_fall_back_fires_once() -> None:
    # 2026-11-01: 01:30 happens twice in New York; the reminder fires at the first.
    fired = occurrences(
        ["01:30"],
        EVERY_DAY,
        "America/New_York",
        datetime(2026, 11, 1, 0, tzinfo=UTC),
        datetime(2026, 11, 1, 12, tzinfo=UTC),
    )

    assert fired == [datetime(2026, 11, 1, 5, 30, tzinfo=UTC)]


def test_weekdays_are_local_weekdays() -> None:
    # 22:00 Monday in Los Angeles is Tuesday in UTC.
    fired = next_occurrence(["22:00"], ["mon"], "America/Los_Angeles", datetime(2026, 11, 23, 0, tzinfo=UTC))

    assert fired == datetime(2026, 11, 24, 6, 0, tzinfo=UTC)


def test_a_late_tick_fires_once_for_the_latest_missed_occurrence() -> None:
    since = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

    latest = latest_occurrence(["08:00", "20:00"], EVERY_DAY, "UTC", since, since + timedelta(days=2))

    assert latest == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


zones = st.sampled_from(["America/New_York", "America/Sao_Paulo", "Europe/London", "Australia/Lord_Howe", "UTC"])
walls = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"{t[0]:02d}:{t[1]:02d}")
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)


@given(st.lists(walls, min_size=1, max_size=4), zones, moments)
def test_a_daily_schedule_fires_every_wall_time_at_most_once_a_day(
    times: list[str], zone: str, start: datetime
) -> None:
    fired = occurrences(times, EVERY_DAY, zone, start, start + timedelta(days=3))

    assert fired == sorted(set(fired))
    assert len(set(times)) * 2 <= len(fired) <= len(set(times)) * 4
    nxt = next_occurrence(times, EVERY_DAY, zone, start)
    assert nxt is not None and nxt > start and nxt == fired[0]


def test_a_late_reminder_names_the_time_the_patients_own_clock_showed() -> None:
    winter = next_occurrence(["23:00"], EVERY_DAY, "America/New_York", datetime(2026, 12, 1, 0, 0, tzinfo=UTC))
    summer = next_occurrence(["23:00"], EVERY_DAY, "America/New_York", datetime(2027, 6, 1, 0, 0, tzinfo=UTC))

    assert winter is not None and summer is not None and winter.hour != summer.hour
    assert wall_clock(winter, "America/New_York") == wall_clock(summer, "America/New_York") == "23:00"
    assert wall_clock(datetime(2026, 12, 1, 4, 0, tzinfo=UTC), "UTC") == "04:00"
