"""Reminders and adherence: schedules in the patient's local time."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, to_response
from chalicelib.api.patients import known_id
from chalicelib.bootstrap import container
from chalicelib.domain.reminders import AcknowledgeIn, ReminderIn, ReminderPatch

bp = Blueprint(__name__)
ROOT = "/patients/{patient_id}/reminders"


@endpoint(bp, ROOT, methods=["POST"], status=201)
def create_reminder(call: Call, patient_id: str) -> Any:
    status, reminder = container().reminders.create(
        call.caller, known_id(patient_id), call.body(ReminderIn), call.idempotency_key()
    )
    return to_response(reminder, status)


@endpoint(bp, ROOT, methods=["GET"])
def list_reminders(call: Call, patient_id: str) -> Any:
    return container().reminders.list(call.caller, known_id(patient_id))


@endpoint(bp, ROOT + "/{reminder_id}", methods=["GET"])
def get_reminder(call: Call, patient_id: str, reminder_id: str) -> Any:
    return container().reminders.get(call.caller, known_id(patient_id), known_id(reminder_id, "Reminder"))


@endpoint(bp, ROOT + "/{reminder_id}", methods=["PATCH"])
def patch_reminder(call: Call, patient_id: str, reminder_id: str) -> Any:
    return container().reminders.patch(
        call.caller, known_id(patient_id), known_id(reminder_id, "Reminder"), call.body(ReminderPatch)
    )


@endpoint(bp, ROOT + "/{reminder_id}", methods=["DELETE"])
def delete_reminder(call: Call, patient_id: str, reminder_id: str) -> Any:
    return container().reminders.delete(call.caller, known_id(patient_id), known_id(reminder_id, "Reminder"))


@endpoint(bp, ROOT + "/{reminder_id}/acknowledge", methods=["POST"])
def acknowledge_reminder(call: Call, patient_id: str, reminder_id: str) -> Any:
    request = call.body(AcknowledgeIn) if call.raw_body.strip() else AcknowledgeIn()
    return container().reminders.acknowledge(
        call.caller, known_id(patient_id), known_id(reminder_id, "Reminder"), request
    )


@endpoint(bp, "/patients/{patient_id}/adherence", methods=["GET"])
def adherence(call: Call, patient_id: str) -> Any:
    return container().reminders.adherence(call.caller, known_id(patient_id), call.query.get("days"))
