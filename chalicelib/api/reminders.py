"""Reminders and adherence: schedules in the patient's local time."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, Param, endpoint, to_response
from chalicelib.api.patients import known_id
from chalicelib.bootstrap import container
from chalicelib.domain.reminders import (
    AcknowledgeIn,
    Adherence,
    DoseAcknowledged,
    Reminder,
    ReminderDeleted,
    ReminderIn,
    ReminderPatch,
)

bp = Blueprint(__name__)
ROOT = "/patients/{patient_id}/reminders"
# The adherence windows the service accepts (services.reminders.ADHERENCE_DAYS; a unit test keeps them equal).
ADHERENCE_DAYS = (7, 14, 30, 90)


@endpoint(
    bp,
    ROOT,
    methods=["POST"],
    status=201,
    summary="Create a reminder (200 on a replay)",
    request=ReminderIn,
    response=Reminder,
    replay=True,
    keyed=True,
    conflicts=True,
)
def create_reminder(call: Call, patient_id: str) -> Any:
    status, reminder = container().reminders.create(
        call.caller, known_id(patient_id), call.body(ReminderIn), call.idempotency_key()
    )
    return to_response(reminder, status)


@endpoint(bp, ROOT, methods=["GET"], summary="Reminders", response=Reminder, listed=True)
def list_reminders(call: Call, patient_id: str) -> Any:
    return container().reminders.list(call.caller, known_id(patient_id))


@endpoint(bp, ROOT + "/{reminder_id}", methods=["GET"], summary="A reminder", response=Reminder)
def get_reminder(call: Call, patient_id: str, reminder_id: str) -> Any:
    return container().reminders.get(call.caller, known_id(patient_id), known_id(reminder_id, "Reminder"))


@endpoint(
    bp,
    ROOT + "/{reminder_id}",
    methods=["PATCH"],
    summary="Change a reminder",
    request=ReminderPatch,
    response=Reminder,
)
def patch_reminder(call: Call, patient_id: str, reminder_id: str) -> Any:
    return container().reminders.patch(
        call.caller, known_id(patient_id), known_id(reminder_id, "Reminder"), call.body(ReminderPatch)
    )


@endpoint(bp, ROOT + "/{reminder_id}", methods=["DELETE"], summary="Delete a reminder", response=ReminderDeleted)
def delete_reminder(call: Call, patient_id: str, reminder_id: str) -> Any:
    return container().reminders.delete(call.caller, known_id(patient_id), known_id(reminder_id, "Reminder"))


@endpoint(
    bp,
    ROOT + "/{reminder_id}/acknowledge",
    methods=["POST"],
    summary="Mark the latest dose done",
    request=AcknowledgeIn,
    response=DoseAcknowledged,
    body_optional=True,
    conflicts=True,
)
def acknowledge_reminder(call: Call, patient_id: str, reminder_id: str) -> Any:
    request = call.body(AcknowledgeIn) if call.raw_body.strip() else AcknowledgeIn()
    return container().reminders.acknowledge(
        call.caller, known_id(patient_id), known_id(reminder_id, "Reminder"), request
    )


@endpoint(
    bp,
    "/patients/{patient_id}/adherence",
    methods=["GET"],
    summary="Doses due vs done per reminder",
    response=Adherence,
    query=(Param("days", {"type": "integer", "enum": list(ADHERENCE_DAYS), "default": 30}, "The window in days"),),
)
def adherence(call: Call, patient_id: str) -> Any:
    return container().reminders.adherence(call.caller, known_id(patient_id), call.query.get("days"))
