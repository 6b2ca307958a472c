"""Clinicians: the people alerts page, with their channels and escalation contacts."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint
from chalicelib.api.patients import known_id
from chalicelib.bootstrap import container
from chalicelib.domain.patients import Clinician, ClinicianIn

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/clinicians/{clinician_id}",
    methods=["PUT"],
    summary="Register or update a clinician",
    request=ClinicianIn,
    response=Clinician,
)
def put_clinician(call: Call, clinician_id: str) -> Any:
    return container().clinicians.put(call.caller, known_id(clinician_id, "Clinician"), call.body(ClinicianIn))


@endpoint(bp, "/clinicians/{clinician_id}", methods=["GET"], summary="A clinician", response=Clinician)
def get_clinician(call: Call, clinician_id: str) -> Any:
    return container().clinicians.get(call.caller, known_id(clinician_id, "Clinician"))
