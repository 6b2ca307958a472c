"""chalicelib/domain/episodes.py: an episode's transitions, what quiet monitoring means, and billable days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from chalicelib.domain import episodes as rules
from chalicelib.domain.episodes import DischargeIn, Episode, EpisodeIn, PauseIn, RpmConsent
from chalicelib.domain.errors import ConflictError, InvalidInputError

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)
CONSENT = RpmConsent(at=datetime(2025, 1, 1, 9, tzinfo=UTC), method="verbal", recorded_by="c-1")


def opened(consent: RpmConsent | None = CONSENT, starts_on: date = date(2026, 12, 1)) -> Episode:
    request = EpisodeIn(programs=["diabetes"], rpm_consent=consent, starts_on=starts_on)
    return rules.opened(None, request, "ep-1", NOW, NOW.date())


def test_an_episode_opens_pauses_resumes_and_is_discharged() -> None:
    episode = opened()
    episode = rules.paused(episode, PauseIn(reason="hospital stay"), NOW + timedelta(days=1))
    assert (episode.status, episode.pauses[-1].resumed_at) == ("paused", None)
    episode = rules.resumed(episode, NOW + timedelta(days=4))
    assert episode.status == "open" and episode.pauses[-1].resumed_at is not None
    episode = rules.discharged(episode, DischargeIn(reason="goals met"), date(2026, 12, 20), NOW + timedelta(days=19))
    assert (episode.status, episode.discharged_on, episode.version) == ("discharged", "2026-12-20", 3)


def test_only_one_episode_is_not_discharged() -> None:
    current = opened()
    with pytest.raises(ConflictError, match="ep-1 is open"):
        rules.opened(current, EpisodeIn(programs=["diabetes"], starts_on=date(2026, 12, 1)), "ep-2", NOW, NOW.date())
    done = rules.discharged(current, DischargeIn(reason="moved"), date(2026, 12, 2), NOW)
    later = NOW + timedelta(days=40)
    again = rules.opened(
        done, EpisodeIn(programs=["hypertension"], starts_on=date(2027, 1, 5)), "ep-2", later, later.date()
    )
    assert (again.episode_id, again.status, again.rpm_consent) == ("ep-2", "open", None)


@pytest.mark.parametrize(
    ("status", "move"),
    [
        ("paused", lambda e: rules.paused(e, PauseIn(reason="again"), NOW)),
        ("open", lambda e: rules.resumed(e, NOW)),
        ("discharged", lambda e: rules.discharged(e, DischargeIn(reason="other"), date(2026, 12, 3), NOW)),
    ],
)
def test_a_transition_from_the_wrong_status_is_a_conflict(status: str, move: object) -> None:
    episode = opened().model_copy(update={"status": status})
    with pytest.raises(ConflictError):
        move(episode)  # type: ignore[operator]


@pytest.mark.parametrize("until", [NOW - timedelta(minutes=1), NOW, NOW + timedelta(days=367)])
def test_a_pause_ends_in_the_future_within_a_year(until: datetime) -> None:
    with pytest.raises(InvalidInputError) as refused:
        rules.paused(opened(), PauseIn(until=until, reason="x"), NOW)
    assert refused.value.errors[0].field == "until"


@pytest.mark.parametrize("until", ["9999-12-31T23:30:00-14:00", 1796283104, "tomorrow"])
def test_a_pause_end_that_is_no_moment_is_refused_by_name(until: object) -> None:
    with pytest.raises(ValidationError) as refused:
        PauseIn.model_validate({"until": until, "reason": "x"})
    assert refused.value.errors()[0]["loc"][0] == "until"


def test_discharge_closes_a_running_pause() -> None:
    episode = rules.paused(opened(), PauseIn(reason="hospital stay"), NOW)
    done = rules.discharged(episode, DischargeIn(reason="deceased"), date(2026, 12, 5), NOW + timedelta(days=4))
    assert done.pauses[-1].resumed_at is not None


def test_monitoring_is_quiet_only_while_paused_or_discharged() -> None:
    assert not rules.quiet({})  # enrolled before episodes: open since enrolment
    assert not rules.quiet({"episode": {"status": "open"}})
    assert rules.quiet({"episode": {"status": "paused"}})
    assert rules.quiet({"episode": {"status": "discharged"}})


def test_the_enrolment_episode_starts_on_the_enrolment_date() -> None:
    episode = rules.enrolment_episode({"created_at": "2026-03-04T10:00:00Z", "conditions": ["hypertension", "ckd"]})
    assert (episode.episode_id, episode.status, episode.starts_on, episode.programs) == (
        rules.ENROLMENT_EPISODE,
        "open",
        "2026-03-04",
        ["hypertension"],
    )


# -- billable days ------------------------------------------------------------------------------------


def test_billable_days_need_consent_and_skip_whole_days_of_a_pause() -> None:
    today = date(2026, 12, 10)
    assert rules.billable_days([opened(consent=None)], today) == set()
    episode = rules.paused(opened(), PauseIn(reason="hospital"), datetime(2026, 12, 3, 9, tzinfo=UTC))
    episode = rules.resumed(episode, datetime(2026, 12, 6, 18, tzinfo=UTC))
    days = rules.billable_days([episode], today)
    # The 3rd and the 6th had monitoring for part of the day; the 4th and 5th none.
    assert sorted(days) == [f"2026-12-{d:02d}" for d in (1, 2, 3, 6, 7, 8, 9, 10)]


def test_billable_days_end_at_discharge() -> None:
    done = rules.discharged(opened(), DischargeIn(reason="goals met"), date(2026, 12, 4), NOW)
    assert max(rules.billable_days([done], date(2026, 12, 31))) == "2026-12-04"


@given(st.integers(min_value=0, max_value=40), st.integers(min_value=1, max_value=20))
def test_a_billable_day_is_never_outside_the_episode(start_offset: int, length: int) -> None:
    start = date(2026, 1, 1) + timedelta(days=start_offset)
    episode = opened(starts_on=start)
    done = rules.discharged(episode, DischargeIn(reason="other"), start + timedelta(days=length), NOW)
    days = rules.billable_days([done], date(2027, 1, 1))
    assert min(days) == start.isoformat() and max(days) == (start + timedelta(days=length)).isoformat()
    assert len(days) == length + 1


def test_a_running_pause_ends_the_billable_stretch_on_its_first_day() -> None:
    episode = rules.paused(opened(), PauseIn(reason="hospital"), datetime(2026, 12, 5, 10, tzinfo=UTC))
    assert rules.billable_spans([episode]) == [["2026-12-01", "2026-12-05"]]
    assert rules.in_spans("2026-12-05", [["2026-12-01", "2026-12-05"]])
    assert not rules.in_spans("2026-12-06", [["2026-12-01", "2026-12-05"]])
    assert rules.in_spans("2027-03-01", [["2026-12-01", None]])


def test_two_episodes_with_consent_make_two_stretches_and_one_without_none() -> None:
    first = rules.discharged(opened(starts_on=date(2026, 1, 1)), DischargeIn(reason="moved"), date(2026, 1, 31), NOW)
    unconsented = opened(consent=None, starts_on=date(2026, 3, 1))
    second = opened(starts_on=date(2026, 6, 1))
    assert rules.billable_spans([second, unconsented, first]) == [["2026-01-01", "2026-01-31"], ["2026-06-01", None]]


def test_the_billing_row_counts_device_days_inside_the_stretches_and_shows_them_for_the_month() -> None:
    from chalicelib.services.billing import rpm_row

    record = {"patient_id": "p-1", "program_spans": [["2026-11-10", "2026-11-12"], ["2026-11-20", None]]}
    days = ["2026-11-01", "2026-11-10", "2026-11-12", "2026-11-15", "2026-11-21", "2026-11-30"]
    row = rpm_row(record, "2026-11", {"device_days": days})
    assert row.device_days == 4
    assert row.program_periods == [["2026-11-10", "2026-11-12"], ["2026-11-20", "2026-11-30"]]
    assert rpm_row({"patient_id": "p-2"}, "2026-11", {"device_days": days}).device_days == 0  # no consent on file


def test_only_a_registered_meter_of_the_right_kind_from_its_day_makes_device_days() -> None:
    from chalicelib.domain.meters import meter_attribute, registered

    profile = {meter_attribute("gm-1"): {"kind": "glucometer", "assigned_on": "2026-12-02"}}
    assert registered(profile, "gm-1", "blood_glucose", "2026-12-02")
    assert not registered(profile, "gm-1", "blood_glucose", "2026-12-01")  # before it was handed over
    assert not registered(profile, "gm-1", "blood_pressure", "2026-12-03")  # a glucometer takes no BP
    assert not registered(profile, "other", "blood_glucose", "2026-12-03")
    assert not registered(profile, None, "blood_glucose", "2026-12-03")


def test_billing_starts_with_consent_and_reads_pauses_in_the_patient_s_zone() -> None:
    consented_late = rules.opened(
        None,
        EpisodeIn(
            programs=["diabetes"],
            starts_on=date(2026, 11, 1),
            rpm_consent=RpmConsent(at=datetime(2026, 11, 10, 15, tzinfo=UTC), method="written", recorded_by="c-1"),
        ),
        "ep-9",
        NOW,
        NOW.date(),
    )
    assert rules.billable_spans([consented_late])[0][0] == "2026-11-10"  # not the days before consent
    # Paused 20:00 in Los Angeles on the 10th (04:00 UTC on the 11th), resumed 18:00 on the 14th (02:00 UTC, 15th).
    episode = rules.paused(consented_late, PauseIn(reason="hospital"), datetime(2026, 11, 11, 4, tzinfo=UTC))
    episode = rules.resumed(episode, datetime(2026, 11, 15, 2, tzinfo=UTC))
    assert rules.billable_spans([episode], "America/Los_Angeles") == [
        ["2026-11-10", "2026-11-10"],
        ["2026-11-14", None],
    ]


def test_an_episode_starts_after_the_last_discharge_and_not_in_the_future() -> None:
    done = rules.discharged(opened(), DischargeIn(reason="moved"), date(2026, 12, 10), NOW)
    for starts_on in (date(2026, 12, 10), date(2026, 12, 31)):
        with pytest.raises(InvalidInputError) as refused:
            rules.opened(done, EpisodeIn(programs=["diabetes"], starts_on=starts_on), "ep-2", NOW, date(2026, 12, 20))
        assert refused.value.errors[0].field == "starts_on"
