"""Patients: enrollment, profile, contact verification, panel, targets, consents, push devices."""

from __future__ import annotations

import re
from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, page, to_response
from chalicelib.bootstrap import container
from chalicelib.domain.contacts import ContactVerificationIn
from chalicelib.domain.errors import NotFoundError
from chalicelib.domain.identity import Role
from chalicelib.domain.patients import ID_PATTERN, ConsentIn, DeviceIn, PatientIn, PatientPatch
from chalicelib.domain.targets import TargetsIn

bp = Blueprint(__name__)
_ID = re.compile(ID_PATTERN)
CHANNELS = ("push", "sms", "email", "voice")
STAFF = (Role.CLINICIAN, Role.ADMIN)


def known_id(value: str, what: str = "Patient") -> str:
    """A path id that cannot exist is simply not found."""
    if not _ID.match(value):
        raise NotFoundError(f"{what} not found.")
    return value


@endpoint(bp, "/patients", methods=["POST"], status=201, roles=STAFF)
def create_patient(call: Call) -> Any:
    status, patient = container().patients.enroll(call.caller, call.body(PatientIn), call.idempotency_key())
    return to_response(patient, status)


@endpoint(bp, "/patients", methods=["GET"], roles=STAFF)
def list_patients(call: Call) -> Any:
    items, cursor = container().patients.page(call.caller, call.limit(), call.cursor())
    return page(items, cursor)


@endpoint(bp, "/patients/{patient_id}", methods=["GET"])
def get_patient(call: Call, patient_id: str) -> Any:
    return container().patients.get(call.caller, known_id(patient_id))


@endpoint(bp, "/patients/{patient_id}", methods=["PATCH"])
def patch_patient(call: Call, patient_id: str) -> Any:
    return container().patients.patch(call.caller, known_id(patient_id), call.body(PatientPatch))


@endpoint(bp, "/patients/{patient_id}/contact-verification", methods=["POST"])
def verify_contact(call: Call, patient_id: str) -> Any:
    return container().contacts.verify(call.caller, known_id(patient_id), call.body(ContactVerificationIn))


@endpoint(bp, "/patients/{patient_id}/targets", methods=["GET"])
def get_targets(call: Call, patient_id: str) -> Any:
    return container().patients.get_targets(call.caller, known_id(patient_id))


@endpoint(bp, "/patients/{patient_id}/targets", methods=["PUT"])
def put_targets(call: Call, patient_id: str) -> Any:
    return container().patients.put_targets(call.caller, known_id(patient_id), call.body(TargetsIn))


@endpoint(bp, "/patients/{patient_id}/consents/{channel}", methods=["PUT"])
def put_consent(call: Call, patient_id: str, channel: str) -> Any:
    if channel not in CHANNELS:
        raise NotFoundError("Unknown channel.")
    return container().patients.put_consent(call.caller, known_id(patient_id), channel, call.body(ConsentIn))


@endpoint(bp, "/patients/{patient_id}/consents", methods=["GET"])
def list_consents(call: Call, patient_id: str) -> Any:
    return container().patients.list_consents(call.caller, known_id(patient_id))


@endpoint(bp, "/patients/{patient_id}/devices", methods=["POST"], status=201, roles=(Role.PATIENT,))
def register_device(call: Call, patient_id: str) -> Any:
    return container().patients.register_device(call.caller, known_id(patient_id), call.body(DeviceIn))
