"""Domain events: what one service tells the rest of Carewire has happened.

A service that learns something another service must act on publishes an
event instead of calling that service (or an optional hook that a container
wired some other way would leave empty).  ``services/reactions.py`` says, in
one place, what follows each event.  Events are plain values: who, when, and
the id that makes the reaction idempotent (an inbound SMS id, a task id).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal


@dataclass(frozen=True, slots=True)
class RedFlagTexted:
    """A patient's SMS named a red-flag symptom (docs/clinical.md safety net, rule 10)."""

    patient_id: str
    at: datetime
    inbound_id: str


@dataclass(frozen=True, slots=True)
class DoseTakenTexted:
    """A patient answered a medication reminder with TAKEN or DONE."""

    patient_id: str
    at: datetime
    inbound_id: str


@dataclass(frozen=True, slots=True)
class AppointmentAnswered:
    """A patient answered an appointment reminder by SMS: C/CONFIRM or R/RESCHEDULE."""

    patient_id: str
    at: datetime
    inbound_id: str
    answer: Literal["confirm", "reschedule"]


@dataclass(frozen=True, slots=True)
class RescheduleRequested:
    """An appointment's patient asked to reschedule; ``task_id`` names the follow-up once."""

    patient_id: str
    task_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PatientUnreachable:
    """No channel reached the patient; a person was asked to call (``origin``: the task that asks)."""

    patient_id: str
    origin: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RemindersUnanswered:
    """Three reminders in a row went unanswered (``origin``: the reminder occurrence)."""

    patient_id: str
    origin: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ReadingsMissed:
    """No reading for the missed-readings window after the patient was nudged."""

    patient_id: str
    origin: str
    at: datetime


Event = (
    RedFlagTexted
    | DoseTakenTexted
    | AppointmentAnswered
    | RescheduleRequested
    | PatientUnreachable
    | RemindersUnanswered
    | ReadingsMissed
)

# How a service hands an event on: the composition root passes ``Reactions.publish``.
Publish = Callable[[Event], None]
