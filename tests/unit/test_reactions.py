"""Every domain event has a reaction, and an event nobody handles fails loudly.

What each reaction does is shown end to end elsewhere (a red flag texted pages
the care team: tests/integration/test_inbound_sms.py; three unanswered reminders
hand the patient to a person: tests/integration/test_reminders.py; ...).  Here:
no event type is dropped on the floor, which the optional hooks this replaced
allowed (a container wired another way silently lost a red flag's alert).
"""

from __future__ import annotations

import dataclasses
import typing
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.domain import events
from chalicelib.services.reactions import Reactions, UnhandledEvent

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
EVENT_TYPES = typing.get_args(events.Event)


class Reached(Exception):
    """The reaction asked for this service."""


def _asking(service: str) -> Any:
    def provide() -> Any:
        raise Reached(service)

    return provide


def _reactions() -> Reactions:
    return Reactions(
        alerts=_asking("alerts"),
        messaging=_asking("messaging"),
        reminders=_asking("reminders"),
        appointments=_asking("appointments"),
    )


def _example(kind: type[Any]) -> Any:
    values = {"at": AT, "answer": "confirm"}
    return kind(**{f.name: values.get(f.name, f"x-{f.name}") for f in dataclasses.fields(kind)})


def test_the_event_union_is_every_event_class_in_the_module() -> None:
    declared = {obj for obj in vars(events).values() if isinstance(obj, type) and obj.__module__ == events.__name__}
    assert set(EVENT_TYPES) == declared


@pytest.mark.parametrize("kind", EVENT_TYPES, ids=lambda k: k.__name__)
def test_every_event_reaches_the_service_that_acts_on_it(kind: type[Any]) -> None:
    expected = {
        events.RedFlagTexted: "alerts",
        events.DoseTakenTexted: "reminders",
        events.AppointmentAnswered: "appointments",
        events.RescheduleRequested: "messaging",
        events.PatientUnreachable: "alerts",
        events.RemindersUnanswered: "messaging",
        events.ReadingsMissed: "alerts",
    }
    with pytest.raises(Reached) as reached:
        _reactions().publish(_example(kind))

    assert str(reached.value) == expected[kind]


def test_an_event_with_no_reaction_fails_loudly() -> None:
    @dataclasses.dataclass(frozen=True)
    class Unheard:
        patient_id: str

    with pytest.raises(UnhandledEvent, match="Unheard"):
        _reactions().publish(Unheard("p-1"))  # type: ignore[arg-type]


def test_events_are_values() -> None:
    event = _example(events.RedFlagTexted)

    assert event == _example(events.RedFlagTexted)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.patient_id = "someone else"  # type: ignore[misc]
