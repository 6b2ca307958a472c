"""Appointment reminder times: before the start, after now, moved earlier out of quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.domain.appointments import parse_offset, reminder_times

START = datetime(2026, 11, 25, 19, 30, tzinfo=UTC)  # 14:30 in New York
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_default_offsets_give_a_day_and_two_hours_before() -> None:
    times = reminder_times(START, ["P1D", "PT2H"], NOW, "America/New_York", ("21:00", "08:00"))

    assert times == [START - timedelta(days=1), START - timedelta(hours=2)]


def test_a_reminder_whose_time_has_passed_at_booking_is_skipped() -> None:
    soon = NOW + timedelta(hours=3)

    assert reminder_times(soon, ["P1D", "PT2H"], NOW, "UTC", None) == [soon - timedelta(hours=2)]


def test_a_reminder_in_quiet_hours_moves_earlier_never_after_the_start() -> None:
    early = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)  # 09:00 in New York; two hours before is 07:00, quiet

    times = reminder_times(early, ["PT2H"], NOW, "America/New_York", ("21:00", "08:00"))

    assert times == [datetime(2026, 11, 25, 1, 59, tzinfo=UTC)]  # 20:59 the evening before


@pytest.mark.parametrize("text", ["1D", "P", "PT", "P1Y", "PT1S", "P31D", "PT4M", "soon"])
def test_offsets_must_be_simple_iso_durations_within_limits(text: str) -> None:
    with pytest.raises(ValueError):
        parse_offset(text)
