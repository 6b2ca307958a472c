"""The people services on the in-memory fakes of their ports: enrolment, profiles, contacts, clinicians, on-call.

``PatientService``, ``ContactVerificationService``, ``ClinicianService`` and
``ClinicService`` wired as ``bootstrap.py`` wires them, over ``tests/fakes/patients.py``,
the shared ``FakeOutbox`` (the codes travel in the intents) and a real ``AuditTrail``
over ``FakeAuditLog``.  Clinicians ``c-ana`` and ``c-eve`` are registered.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.identity import Principal, Role
from chalicelib.domain.messages import Intent
from chalicelib.domain.patients import Patient, PatientIn
from chalicelib.services.audit import AuditTrail
from chalicelib.services.clinic import ClinicService
from chalicelib.services.contacts import ContactVerificationService
from chalicelib.services.patients import ClinicianService, PatientService
from tests.fakes import FakeAuditLog, FakeClock, FakeOutbox
from tests.fakes.patients import FakeClinicianStore, FakeContactChallenges, FakePatientStore, FakePushRegistry

PHONE = "+15551230000"
NEW_PHONE = "+15551239999"


def clinician(cid: str = "c-ana") -> Principal:
    return Principal(subject=cid, role=Role.CLINICIAN, request_id="req-1")


def admin(subject: str = "a-1") -> Principal:
    return Principal(subject=subject, role=Role.ADMIN, request_id="req-1")


def patient(pid: str = "p-1") -> Principal:
    return Principal(subject=pid, role=Role.PATIENT, request_id="req-1")


def enrolment(**fields: Any) -> PatientIn:
    body: dict[str, Any] = {
        "given_name": "Maria",
        "family_name": "Lopez",
        "timezone": "America/New_York",
        "phone": PHONE,
        **fields,
    }
    return PatientIn.model_validate(body)


@dataclass
class PeopleWorld:
    clock: FakeClock = field(default_factory=FakeClock)
    patients: FakePatientStore = field(default_factory=FakePatientStore)
    clinicians: FakeClinicianStore = field(default_factory=FakeClinicianStore)
    push: FakePushRegistry = field(default_factory=FakePushRegistry)
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    audit_log: FakeAuditLog = field(default_factory=FakeAuditLog)
    sms_countries: tuple[str, ...] = ("+1",)

    def __post_init__(self) -> None:
        self.challenges = FakeContactChallenges(self.patients)
        self._ids = itertools.count(1)
        self._codes = itertools.count(123456)
        audit = AuditTrail(self.audit_log, self.clock)
        self.contacts = ContactVerificationService(
            self.patients,
            self.challenges,
            self.outbox,
            audit,
            self.clock,
            self.sms_countries,
            new_code=lambda: f"{next(self._codes):06d}",
        )
        self.service = PatientService(
            self.patients,
            self.clinicians,
            self.push,
            audit,
            CursorCodec(b"unit-test-secret"),
            self.clock,
            lambda prefix: f"{prefix}-{next(self._ids)}",
            self.contacts,
        )
        self.clinician_service = ClinicianService(self.clinicians, self.clock, self.sms_countries)
        self.clinic = ClinicService(self.clinicians, self.clock)
        for cid in ("c-ana", "c-eve"):
            self.register_clinician(cid)

    # -- arranging -----------------------------------------------------------------------------

    def register_clinician(self, cid: str, **fields: Any) -> None:
        self.clinicians.put({"clinician_id": cid, "given_name": cid, "updated_at": "2026-01-01T00:00:00Z", **fields})

    def enrol(self, pid: str = "p-1", by: Principal | None = None, **fields: Any) -> Patient:
        _, enrolled = self.service.enroll(by or clinician(), enrolment(patient_id=pid, **fields))
        return enrolled

    # -- reading what happened ---------------------------------------------------------------

    def stored(self, pid: str = "p-1") -> dict[str, Any]:
        """The patient's record as stored."""
        record = self.patients.get(pid)
        assert record is not None, f"{pid} is not stored"
        return record

    def codes(self) -> list[Intent]:
        """Verification codes enqueued since the last look."""
        return [i for i in self.outbox.take() if i.template.startswith("contact_verification_")]

    def last_code(self) -> str:
        sent = self.codes()
        assert sent, "no code was sent"
        return str(sent[-1].params["code"])

    def audited(self, action: str | None = None, resource: str | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in self.audit_log.entries
            if (action is None or e["action"] == action) and (resource is None or e["resource"] == resource)
        ]
