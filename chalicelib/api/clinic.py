"""The clinic: its on-call list (paged in place of unreachable clinicians and from escalation level 2)."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint
from chalicelib.bootstrap import container
from chalicelib.domain.clinic import OnCall, OnCallIn
from chalicelib.domain.identity import Role

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/clinic/on-call",
    methods=["PUT"],
    roles=(Role.ADMIN,),
    summary="Set the clinic's on-call list (admins)",
    request=OnCallIn,
    response=OnCall,
)
def put_on_call(call: Call) -> Any:
    return container().clinic.set_on_call(call.caller, call.body(OnCallIn))


@endpoint(
    bp,
    "/clinic/on-call",
    methods=["GET"],
    roles=(Role.CLINICIAN, Role.ADMIN),
    summary="The clinic's on-call list",
    response=OnCall,
)
def get_on_call(call: Call) -> Any:
    return container().clinic.on_call(call.caller)
