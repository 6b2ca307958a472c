"""What follows what: every domain event and the reaction to it, in one place.

Services publish events (``chalicelib.domain.events``); this module is the only
place that decides what each one sets in motion.  An event without a reaction
is a programming error and raises :class:`UnhandledEvent` (a red flag that
reached nobody would otherwise go unnoticed); a test checks that every event
type has its reaction.

The services are reached through callables, so building the reactions builds
nothing: the alert service needs messaging, and messaging publishes events the
alert service reacts to.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Never

from chalicelib.domain.events import (
    AppointmentAnswered,
    DoseTakenTexted,
    Event,
    PatientUnreachable,
    ReadingsMissed,
    RedFlagTexted,
    RemindersUnanswered,
    RescheduleRequested,
)
from chalicelib.observability import count

if TYPE_CHECKING:
    from chalicelib.services.alerts import AlertService
    from chalicelib.services.appointments import AppointmentService
    from chalicelib.services.messaging import MessagingService
    from chalicelib.services.reminders import ReminderService


class UnhandledEvent(TypeError):
    """An event type no reaction knows."""


class Reactions:
    def __init__(
        self,
        alerts: Callable[[], AlertService],
        messaging: Callable[[], MessagingService],
        reminders: Callable[[], ReminderService],
        appointments: Callable[[], AppointmentService],
    ) -> None:
        self._alerts = alerts
        self._messaging = messaging
        self._reminders = reminders
        self._appointments = appointments

    def publish(self, event: Event) -> None:
        count(f"Event_{type(event).__name__}")
        match event:
            case RedFlagTexted(patient_id, at, inbound_id):
                # A critical alert: the care team is paged at once (rule 10).
                self._alerts().red_flag(patient_id, at, inbound_id)
            case DoseTakenTexted(patient_id, at, inbound_id):
                self._reminders().taken(patient_id, at, inbound_id)
            case AppointmentAnswered(patient_id, at, inbound_id, answer):
                self._appointments().reply(patient_id, at, inbound_id, answer)
            case RescheduleRequested(patient_id, task_id, at):
                self._messaging().create_task(
                    patient_id, task_id, "reschedule_appointment", "the patient asked to reschedule by SMS", at
                )
            case PatientUnreachable(patient_id, origin, at):
                # The worklist's routine unreachable_patient alert beside the call task.
                self._alerts().raise_alert(patient_id, "unreachable_patient", "routine", origin, at)
            case RemindersUnanswered(patient_id, origin, at):
                # A person calls: a task and (through PatientUnreachable) a routine alert.
                self._messaging().hand_to_human(
                    patient_id, f"unanswered-{origin}", "three reminders in a row unanswered", at
                )
            case ReadingsMissed(patient_id, origin, at):
                self._alerts().raise_alert(patient_id, "missed_readings", "routine", origin, at)
            case _:
                unhandled: Never = event  # mypy refuses this line while an event type has no case
                raise UnhandledEvent(type(unhandled).__name__)
