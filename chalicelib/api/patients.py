"""Patients: enrollment, profile, contact verification, panel, targets, consents, push devices."""

from __future__ import annotations

import re
from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, Param, endpoint, page, to_response
from chalicelib.bootstrap import container
from chalicelib.domain.contacts import ContactVerificationIn
from chalicelib.domain.errors import FieldError, MalformedRequestError, NotFoundError
from chalicelib.domain.identity import Role
from chalicelib.domain.patients import (
    ID_PATTERN,
    Consent,
    ConsentIn,
    Device,
    DeviceIn,
    Patient,
    PatientIn,
    PatientPatch,
)
from chalicelib.domain.targets import Targets, TargetsIn

bp = Blueprint(__name__)
_ID = re.compile(ID_PATTERN)
CHANNELS = ("push", "sms", "email", "voice")
STAFF = (Role.CLINICIAN, Role.ADMIN)


def known_id(value: str, what: str = "Patient") -> str:
    """A path id that cannot exist is simply not found."""
    if not _ID.match(value):
        raise NotFoundError(f"{what} not found.")
    return value


@endpoint(
    bp,
    "/patients",
    methods=["POST"],
    status=201,
    roles=STAFF,
    summary="Enroll a patient (200 on a replay)",
    request=PatientIn,
    response=Patient,
    replay=True,
    keyed=True,
    conflicts=True,
)
def create_patient(call: Call) -> Any:
    status, patient = container().patients.enroll(call.caller, call.body(PatientIn), call.idempotency_key())
    return to_response(patient, status)


@endpoint(
    bp,
    "/patients",
    methods=["GET"],
    roles=STAFF,
    summary="Patients in the caller's panel",
    response=Patient,
    paged=True,
    query=(
        Param(
            "episode",
            {"type": "string", "enum": ["open", "paused", "discharged"]},
            "Only patients whose current episode has this status",
        ),
    ),
)
def list_patients(call: Call) -> Any:
    episode = call.query.get("episode")
    if episode is not None and episode not in ("open", "paused", "discharged"):
        raise MalformedRequestError(
            "episode must be open, paused or discharged.", [FieldError("episode", "open, paused or discharged")]
        )
    items, cursor = container().patients.page(call.caller, call.limit(), call.cursor(), episode)
    return page(items, cursor)


@endpoint(bp, "/patients/{patient_id}", methods=["GET"], summary="A patient", response=Patient)
def get_patient(call: Call, patient_id: str) -> Any:
    return container().patients.get(call.caller, known_id(patient_id))


@endpoint(
    bp,
    "/patients/{patient_id}",
    methods=["PATCH"],
    summary="Update a patient (a phone or email the patient changes waits for its code)",
    request=PatientPatch,
    response=Patient,
    conflicts=True,
)
def patch_patient(call: Call, patient_id: str) -> Any:
    return container().patients.patch(call.caller, known_id(patient_id), call.body(PatientPatch))


@endpoint(
    bp,
    "/patients/{patient_id}/contact-verification",
    methods=["POST"],
    summary="Verify a changed phone or email with the code sent to it (the patient)",
    request=ContactVerificationIn,
    response=Patient,
    conflicts=True,
)
def verify_contact(call: Call, patient_id: str) -> Any:
    return container().contacts.verify(call.caller, known_id(patient_id), call.body(ContactVerificationIn))


@endpoint(bp, "/patients/{patient_id}/targets", methods=["GET"], summary="Effective targets", response=Targets)
def get_targets(call: Call, patient_id: str) -> Any:
    return container().patients.get_targets(call.caller, known_id(patient_id))


@endpoint(
    bp,
    "/patients/{patient_id}/targets",
    methods=["PUT"],
    summary="Set personal targets",
    request=TargetsIn,
    response=Targets,
    conflicts=True,
)
def put_targets(call: Call, patient_id: str) -> Any:
    return container().patients.put_targets(call.caller, known_id(patient_id), call.body(TargetsIn))


@endpoint(
    bp,
    "/patients/{patient_id}/consents/{channel}",
    methods=["PUT"],
    summary="Record consent",
    request=ConsentIn,
    response=Consent,
    conflicts=True,
    path_params={"channel": {"type": "string", "enum": list(CHANNELS)}},
)
def put_consent(call: Call, patient_id: str, channel: str) -> Any:
    if channel not in CHANNELS:
        raise NotFoundError("Unknown channel.")
    return container().patients.put_consent(call.caller, known_id(patient_id), channel, call.body(ConsentIn))


@endpoint(bp, "/patients/{patient_id}/consents", methods=["GET"], summary="Consents", response=Consent, listed=True)
def list_consents(call: Call, patient_id: str) -> Any:
    return container().patients.list_consents(call.caller, known_id(patient_id))


@endpoint(
    bp,
    "/patients/{patient_id}/devices",
    methods=["POST"],
    status=201,
    roles=(Role.PATIENT,),
    summary="Register a push device",
    request=DeviceIn,
    response=Device,
)
def register_device(call: Call, patient_id: str) -> Any:
    return container().patients.register_device(call.caller, known_id(patient_id), call.body(DeviceIn))
