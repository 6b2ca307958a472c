"""The contract of the ``Episodes`` port, on ``FakeEpisodes`` and on ``DynamoEpisodes`` (DynamoDB Local).

An episode and the profile's summary of it change together, only from the state the change was made
from: of two transitions made from the same state, one lands; no second episode opens beside one
that is not discharged; the enrolment episode is written once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.domain import episodes as rules
from chalicelib.domain.episodes import DischargeIn, EpisodeIn, PauseIn
from chalicelib.domain.timeutil import iso
from chalicelib.services.ports import TimelineEntry
from tests.contract.conftest import BACKENDS

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@dataclass
class World:
    episodes: Any
    add_patient: Callable[[dict[str, Any]], None]
    profile: Callable[[str], dict[str, Any]]


@pytest.fixture(params=BACKENDS)
def world(request: pytest.FixtureRequest) -> World:
    if request.param == "fake":
        from tests.fakes import FakeEpisodes, FakeMessagingPatients, FakeTimeline

        patients = FakeMessagingPatients()
        return World(FakeEpisodes(patients, FakeTimeline()), patients.put, lambda pid: patients.get(pid) or {})
    from chalicelib.adapters.episodes import DynamoEpisodes
    from chalicelib.adapters.stores import DynamoPatientStore

    table = request.getfixturevalue("dynamo_table")
    patients = DynamoPatientStore(table)

    def add(record: dict[str, Any]) -> None:
        assert patients.create(record) is None

    return World(DynamoEpisodes(table), add, lambda pid: patients.get(pid) or {})


def entry(pid: str, n: int) -> TimelineEntry:
    return TimelineEntry(pid, "episode_changed", T0 + timedelta(minutes=n), f"e-{n}", "changed", None, {})


def enrolled(world: World, ids: Callable[[str], str]) -> tuple[str, Any]:
    pid = ids("p")
    record = {"patient_id": pid, "care_team": [], "timezone": "UTC", "created_at": iso(T0), "updated_at": iso(T0)}
    world.add_patient(record)
    return pid, rules.enrolment_episode(record)


def test_the_enrolment_episode_is_written_once(world: World, ids: Callable[[str], str]) -> None:
    pid, enrolment = enrolled(world, ids)
    paused = rules.paused(enrolment, PauseIn(reason="hospital"), T0)
    assert world.episodes.save(pid, paused, enrolment, False, entry(pid, 1))
    assert not world.episodes.save(pid, paused, enrolment, False, entry(pid, 2))  # a second "first" write
    assert [e.status for e in world.episodes.of_patient(pid)] == ["paused"]
    assert world.profile(pid)["episode"]["status"] == "paused"


def test_of_two_changes_from_the_same_state_one_lands(world: World, ids: Callable[[str], str]) -> None:
    pid, enrolment = enrolled(world, ids)
    paused = rules.paused(enrolment, PauseIn(reason="hospital"), T0)
    assert world.episodes.save(pid, paused, enrolment, False, entry(pid, 1))
    resumed = rules.resumed(paused, T0 + timedelta(days=1))
    discharged = rules.discharged(paused, DischargeIn(reason="moved"), date(2026, 12, 2), T0 + timedelta(days=1))
    assert world.episodes.save(pid, resumed, paused, True, entry(pid, 2))
    assert not world.episodes.save(pid, discharged, paused, True, entry(pid, 3))  # made from a state gone
    assert world.profile(pid)["episode"]["status"] == "open"


def test_no_second_episode_opens_beside_one_that_is_not_discharged(world: World, ids: Callable[[str], str]) -> None:
    pid, enrolment = enrolled(world, ids)
    request = EpisodeIn(programs=["hypertension"], starts_on=date(2026, 12, 5))
    done = rules.discharged(enrolment, DischargeIn(reason="moved"), date(2026, 12, 3), T0)
    assert world.episodes.save(pid, done, enrolment, False, entry(pid, 1))
    later = T0 + timedelta(days=4)
    second = rules.opened(done, request, "ep-2", later, later.date())
    third = rules.opened(done, request, "ep-3", later + timedelta(minutes=1), later.date())
    assert world.episodes.save(pid, second, done, True, entry(pid, 2))
    assert not world.episodes.save(pid, third, done, True, entry(pid, 3))  # ep-2 got there first
    assert [e.episode_id for e in world.episodes.of_patient(pid)] == ["ep-2", rules.ENROLMENT_EPISODE]


def test_no_episode_changes_on_a_record_being_de_identified(world: World, ids: Callable[[str], str]) -> None:
    pid = ids("p")
    record = {"patient_id": pid, "care_team": [], "timezone": "UTC", "created_at": iso(T0), "updated_at": iso(T0)}
    world.add_patient({**record, "deidentifying_since": iso(T0)})  # a retention run began
    enrolment = rules.enrolment_episode(record)
    paused = rules.paused(enrolment, PauseIn(reason="hospital"), T0)
    assert not world.episodes.save(pid, paused, enrolment, False, entry(pid, 1))
    assert world.episodes.of_patient(pid) == []
