"""Appointments: one-time visits with reminders and confirmation."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, to_response
from chalicelib.api.patients import known_id
from chalicelib.bootstrap import container
from chalicelib.domain.appointments import Appointment, AppointmentIn, AppointmentPatch

bp = Blueprint(__name__)
ROOT = "/patients/{patient_id}/appointments"


@endpoint(
    bp,
    ROOT,
    methods=["POST"],
    status=201,
    summary="Book an appointment (200 on a replay)",
    request=AppointmentIn,
    response=Appointment,
    replay=True,
    keyed=True,
    conflicts=True,
)
def book_appointment(call: Call, patient_id: str) -> Any:
    status, appointment = container().appointments.book(
        call.caller, known_id(patient_id), call.body(AppointmentIn), call.idempotency_key()
    )
    return to_response(appointment, status)


@endpoint(bp, ROOT, methods=["GET"], summary="Appointments", response=Appointment, listed=True)
def list_appointments(call: Call, patient_id: str) -> Any:
    return container().appointments.list(call.caller, known_id(patient_id))


@endpoint(bp, ROOT + "/{appointment_id}", methods=["GET"], summary="An appointment", response=Appointment)
def get_appointment(call: Call, patient_id: str, appointment_id: str) -> Any:
    return container().appointments.get(call.caller, known_id(patient_id), known_id(appointment_id, "Appointment"))


@endpoint(
    bp,
    ROOT + "/{appointment_id}",
    methods=["PATCH"],
    summary="Reschedule or change (the patient may confirm)",
    request=AppointmentPatch,
    response=Appointment,
    conflicts=True,
)
def patch_appointment(call: Call, patient_id: str, appointment_id: str) -> Any:
    return container().appointments.patch(
        call.caller, known_id(patient_id), known_id(appointment_id, "Appointment"), call.body(AppointmentPatch)
    )


@endpoint(
    bp, ROOT + "/{appointment_id}/cancel", methods=["POST"], summary="Cancel", response=Appointment, conflicts=True
)
def cancel_appointment(call: Call, patient_id: str, appointment_id: str) -> Any:
    return container().appointments.cancel(call.caller, known_id(patient_id), known_id(appointment_id, "Appointment"))
