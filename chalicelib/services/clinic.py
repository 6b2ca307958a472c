"""The clinic's on-call list: admins set it, staff read it, pages and escalations use it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from chalicelib.domain.clinic import OnCall, OnCallIn
from chalicelib.domain.errors import FieldError, InvalidInputError
from chalicelib.domain.identity import Principal, Role
from chalicelib.domain.timeutil import iso
from chalicelib.services.ports import Clinicians, Record


class OnCallRoster(Clinicians, Protocol):
    """Clinician profiles by id, and the clinic's on-call record (``DynamoClinicianStore``)."""

    def put_on_call(self, record: Record) -> None:
        """Replace the on-call record (``clinician_ids`` in paging order, who set it and when)."""
        ...


class ClinicService:
    def __init__(self, clinicians: OnCallRoster, clock: Callable[[], datetime]) -> None:
        self._clinicians = clinicians
        self._clock = clock

    def on_call(self, principal: Principal) -> OnCall:
        principal.require(Role.CLINICIAN, Role.ADMIN)
        return OnCall.model_validate(self._clinicians.on_call() or {"clinician_ids": []})

    def set_on_call(self, principal: Principal, request: OnCallIn) -> OnCall:
        principal.require(Role.ADMIN)
        known = self._clinicians.many(request.clinician_ids) if request.clinician_ids else {}
        unknown = [cid for cid in request.clinician_ids if cid not in known]
        if unknown:
            raise InvalidInputError(
                "Every on-call clinician must be registered.",
                [FieldError("clinician_ids", f"unknown clinician {cid}") for cid in unknown],
            )
        current = self._clinicians.on_call()
        if current is not None and current.get("clinician_ids") == request.clinician_ids:
            return OnCall.model_validate(current)  # a repeated PUT: nothing changes, the same answer
        record = {
            "clinician_ids": request.clinician_ids,
            "updated_at": iso(self._clock()),
            "updated_by": principal.subject,
        }
        self._clinicians.put_on_call(record)
        return OnCall.model_validate(record)
