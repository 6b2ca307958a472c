"""Routing: preference, consent, address, opt-out, quiet hours in local time, fallback, adaptation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from chalicelib.domain.routing import ChannelState, in_quiet_hours, next_allowed, plan

NOON_NY = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)  # 12:00 in New York
ALL_OK = {c: ChannelState(has_address=True, consented=True) for c in ("push", "sms", "email", "voice")}


def test_routine_goes_in_preference_order_over_consented_addressed_channels() -> None:
    states = {**ALL_OK, "push": ChannelState(has_address=False, consented=True), "sms": ChannelState(True, False)}

    route = plan(["push", "sms", "email"], states, False, NOON_NY, "America/New_York", ("21:00", "08:00"))

    assert route.channels == ("email",)
    assert route.deliver_at is None


def test_opted_out_channel_is_never_used_even_for_safety() -> None:
    states = {**ALL_OK, "sms": ChannelState(True, True, opted_out=True)}

    assert "sms" not in plan(["sms", "email"], states, True, NOON_NY, "UTC", None).channels


def test_safety_messages_ignore_consent_and_quiet_hours_and_try_every_reachable_channel() -> None:
    night = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 02:00 in New York
    states = {**ALL_OK, "email": ChannelState(True, False), "push": ChannelState(False)}

    route = plan(["sms"], states, True, night, "America/New_York", ("21:00", "08:00"))

    assert route.channels == ("sms", "email", "voice")
    assert route.deliver_at is None


def test_routine_in_quiet_hours_is_deferred_to_the_end_of_the_window() -> None:
    night = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # 02:00 EST

    route = plan(["sms"], ALL_OK, False, night, "America/New_York", ("21:00", "08:00"))

    assert route.deliver_at == datetime(2026, 11, 23, 13, 0, tzinfo=UTC)  # 08:00 EST


def test_deferral_across_spring_forward_lands_on_8am_daylight_time() -> None:
    saturday_night = datetime(2027, 3, 14, 4, 0, tzinfo=UTC)  # 23:00 EST, the night clocks spring forward

    assert next_allowed(saturday_night, "America/New_York", "21:00", "08:00") == datetime(
        2027, 3, 14, 12, 0, tzinfo=UTC
    )


def test_deferral_across_fall_back_lands_on_8am_standard_time() -> None:
    saturday_night = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)  # 23:00 EDT, the night clocks fall back

    assert next_allowed(saturday_night, "America/New_York", "21:00", "08:00") == datetime(
        2026, 11, 1, 13, 0, tzinfo=UTC
    )


def test_equal_start_and_end_means_no_quiet_hours() -> None:
    assert next_allowed(NOON_NY, "UTC", "00:00", "00:00") is None


def test_a_channel_the_patient_answers_on_wins_after_enough_sends() -> None:
    states = {
        **ALL_OK,
        "push": ChannelState(True, True, sends=12, answers=1),
        "sms": ChannelState(True, True, sends=10, answers=8),
    }

    route = plan(["push", "sms"], states, False, NOON_NY, "UTC", None)

    assert route.channels == ("sms", "push")
    assert "sms preferred over push" in route.reasons[0]


def test_too_few_sends_do_not_move_the_preference() -> None:
    states = {
        **ALL_OK,
        "push": ChannelState(True, True, sends=9, answers=0),
        "sms": ChannelState(True, True, sends=9, answers=9),
    }

    assert plan(["push", "sms"], states, False, NOON_NY, "UTC", None).channels == ("push", "sms")


zones = st.sampled_from(["America/New_York", "America/Sao_Paulo", "Asia/Shanghai", "Europe/Madrid", "UTC"])
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC)
)
wall = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"{t[0]:02d}:{t[1]:02d}")


@given(moments, zones, wall, wall)
def test_a_deferred_message_is_released_outside_quiet_hours_and_within_a_day(
    now: datetime, zone: str, start: str, end: str
) -> None:
    released = next_allowed(now, zone, start, end)

    if released is None:
        return
    local = released.astimezone(ZoneInfo(zone)).time()
    s, e = (datetime.strptime(x, "%H:%M").time() for x in (start, end))
    assert released > now
    assert released - now <= timedelta(hours=25)
    assert not in_quiet_hours(local, s, e)
