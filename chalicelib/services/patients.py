"""Enrollment and the patient record: profiles, panels, targets, consents, devices.

Every use case takes the calling :class:`Principal`, enforces the scope rules
(an out-of-scope patient is a 404, like a missing one) and writes one audit
record for the access.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.contacts import check_phone_country
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.delivery import unreachable_channels
from chalicelib.domain.episodes import require_open_to_the_patient, status_of
from chalicelib.domain.errors import ConflictError, FieldError, ForbiddenError, InvalidInputError, NotFoundError
from chalicelib.domain.idempotency import chosen_id, fingerprint
from chalicelib.domain.identity import Principal, Role, can_see_patient, is_care_team
from chalicelib.domain.patients import (
    Clinician,
    ClinicianIn,
    Consent,
    ConsentIn,
    Device,
    DeviceIn,
    Patient,
    PatientIn,
    PatientPatch,
)
from chalicelib.domain.targets import Targets, TargetsIn, effective_targets, validate_targets
from chalicelib.domain.timeutil import iso
from chalicelib.services.ports import Audit, ClinicianProfiles, Record

# What a patient record stores; ``unreachable_channels`` is worked out from the marks delivery events write.
NOT_STORED = {"unreachable_channels", "episode_status"}
PATIENT_FIELDS = tuple(f for f in Patient.model_fields if f not in NOT_STORED)


# -- ports ----------------------------------------------------------------------------------------------


class PatientStore(Protocol):
    """Patient records with their panel memberships, consents and devices (``DynamoPatientStore``).

    A page's position (``start``, and the position a page hands back: None when the list is done) is
    opaque to the service and JSON-safe: it travels inside a signed cursor.
    """

    def get(self, patient_id: str) -> Record | None: ...

    def many(self, patient_ids: list[str]) -> dict[str, Record]:
        """The patients found among ``patient_ids``, by id (one batched read)."""
        ...

    def create(self, record: Record) -> Record | None:
        """Create the patient (on its care team's panels): None when created, else the patient already stored."""
        ...

    def replace(self, record: Record, previous: Record) -> None:
        """Write ``record`` if the patient is still as ``previous`` (same ``updated_at``), else ``ConflictError``.

        Panels follow a new care team, and so do the patient's open and acknowledged alerts.
        """
        ...

    def page_all(self, limit: int, start: Any) -> tuple[list[Record], Any]:
        """Every patient, by patient id."""
        ...

    def page_panel(self, clinician_id: str, limit: int, start: Any) -> tuple[list[Record], Any]:
        """The patients whose care team names the clinician, by patient id."""
        ...

    def consents(self, patient_id: str) -> list[Record]:
        """The patient's consent per channel (read consistently), by channel."""
        ...

    def put_consent(self, patient_id: str, consent: Record) -> None:
        """Record the consent for its ``channel``, replacing the earlier one."""
        ...

    def put_device(self, patient_id: str, device: Record, token: str) -> Record:
        """Register a device (one per token: the same token again replaces it); the device with its ``device_id``."""
        ...


class ClinicianStore(ClinicianProfiles, Protocol):
    """Clinician profiles by id (``DynamoClinicianStore``)."""

    def put(self, record: Record) -> None:
        """Write the profile, replacing the earlier one."""
        ...

    def many(self, clinician_ids: list[str]) -> dict[str, Record]:
        """The profiles found, by id (unknown ids left out)."""
        ...


class PushRegistry(Protocol):
    """Mobile push endpoints (``SnsPushRegistry``)."""

    def register(self, platform: str, token: str, owner: str) -> str:
        """The endpoint for a device token (created or found); 422 for an unconfigured platform or refused token."""
        ...


class PatientAudit(Audit, Protocol):
    """The audit trail, with a list page's records written at once."""

    def record_many(
        self, principal: Principal, action: str, resource: str, patients: list[tuple[str, dict[str, Any] | None]]
    ) -> None: ...


class ContactScreening(Protocol):
    """A patient's new phone or email waits for its code (``ContactVerificationService``)."""

    def check_phone(self, phone: str | None, field: str = "phone") -> None:
        """422 naming ``field`` when the number is outside the clinic's country calling codes."""
        ...

    def screen(self, principal: Principal, record: Record, changes: Record) -> dict[str, str]:
        """Hold the contacts a patient changes as pending (in ``changes``); the channels to send codes to."""
        ...

    def send_codes(self, principal: Principal, patient_id: str, held: dict[str, str]) -> None: ...


def targets_of(record: dict[str, Any]) -> Targets:
    """The effective targets stored on a patient record."""
    overrides = TargetsIn.model_validate(record["targets"]) if record.get("targets") else None
    return effective_targets(
        record.get("glucose_profile", "standard"),
        overrides,
        version=record.get("targets_version", 0),
        updated_at=record.get("targets_updated_at"),
        updated_by=record.get("targets_updated_by"),
    )


def clinician_of(record: dict[str, Any]) -> Clinician:
    fields = {k: record[k] for k in Clinician.model_fields if k in record and k not in NOT_STORED}
    return Clinician.model_validate({**fields, "unreachable_channels": unreachable_channels(record)})


def patient_of(record: dict[str, Any]) -> Patient:
    fields = {k: record[k] for k in PATIENT_FIELDS if k in record}
    return Patient.model_validate(
        {**fields, "unreachable_channels": unreachable_channels(record), "episode_status": status_of(record)}
    )


def _require_a_care_team(care_team: list[str]) -> None:
    """docs/clinical.md safety net rule 7: a patient nobody looks after has nobody to page."""
    if not care_team:
        raise InvalidInputError(
            "Every patient needs a care team.", [FieldError("care_team", "must name at least one clinician")]
        )


def withdrawn_by_patient(consent: dict[str, Any], patient_id: str) -> str | None:
    """When the patient themselves withdrew this consent (in the app or by STOP), if that still stands.

    Staff records keep the mark; only the patient granting again lifts it.  Consents
    stored before the mark existed count when the patient's own change was a withdrawal.
    """
    if consent.get("patient_withdrawn_at"):
        return str(consent["patient_withdrawn_at"])
    if consent and not consent.get("granted") and consent.get("updated_by") == patient_id:
        return str(consent.get("updated_at") or "earlier")
    return None


class PatientService:
    def __init__(
        self,
        patients: PatientStore,
        clinicians: ClinicianStore,
        push: PushRegistry,
        audit: PatientAudit,
        cursors: CursorCodec,
        clock: Callable[[], datetime],
        new_id: Callable[[str], str],
        contacts: ContactScreening,
    ) -> None:
        self._patients = patients
        self._clinicians = clinicians
        self._contacts = contacts  # a phone or email the patient changes is verified first
        self._push = push
        self._audit = audit
        self._cursors = cursors
        self._clock = clock
        self._new_id = new_id

    # -- access -------------------------------------------------------------

    def visible_record(self, principal: Principal, patient_id: str) -> dict[str, Any]:
        """The patient's stored record, or 404 when missing, outside the caller's scope, or being de-identified
        (a retention run has begun: the record is going, and nothing new may join it)."""
        record = self._patients.get(patient_id)
        if record is None or record.get("deidentifying_since"):
            raise NotFoundError("Patient not found.")
        if not can_see_patient(principal, patient_id, record.get("care_team", [])):
            raise NotFoundError("Patient not found.")
        return record

    def _care_team_record(self, principal: Principal, patient_id: str) -> dict[str, Any]:
        record = self.visible_record(principal, patient_id)
        if not is_care_team(principal, record.get("care_team", [])):
            raise ForbiddenError("Only the patient's care team may do this.")
        return record

    # -- patients -----------------------------------------------------------

    def enroll(
        self, principal: Principal, request: PatientIn, idempotency_key: str | None = None
    ) -> tuple[int, Patient]:
        """201 and the new patient; 200 and the stored one for a repeat of the same request; 409 otherwise.

        The key is the client's ``patient_id`` or, without one, an ``Idempotency-Key``
        from which the id is derived; with neither, the server picks a fresh id.
        """
        principal.require(Role.CLINICIAN, Role.ADMIN)
        care_team = list(dict.fromkeys(request.care_team + ([principal.subject] if principal.is_clinician else [])))
        _require_a_care_team(care_team)
        self._require_clinicians(care_team, "care_team")
        self._contacts.check_phone(request.phone)
        now = iso(self._clock())
        patient_id = chosen_id(request.patient_id, idempotency_key, "p", ("patients", principal.subject), self._new_id)
        patient = Patient.model_validate(
            {
                **request.model_dump(),
                "patient_id": patient_id,
                "care_team": care_team,
                "created_at": now,
                "updated_at": now,
            }
        )
        asked = fingerprint(request.fingerprinted())
        existing = self._patients.create({**patient.model_dump(mode="json", exclude=NOT_STORED), "request_hash": asked})
        if existing is not None:
            if existing.get("request_hash") != asked or not can_see_patient(
                principal, patient_id, existing.get("care_team", [])
            ):
                raise ConflictError("A patient with this patient_id already exists.")
            self._audit.record(principal, "read", "patient", patient_id, {"replay": True})
            return 200, patient_of(existing)
        self._audit.record(principal, "create", "patient", patient.patient_id)
        return 201, patient

    def get(self, principal: Principal, patient_id: str) -> Patient:
        record = self.visible_record(principal, patient_id)
        self._audit.record(principal, "read", "patient", patient_id)
        return patient_of(record)

    def page(
        self, principal: Principal, limit: int, cursor: str | None, episode: str | None = None
    ) -> tuple[list[Patient], str | None]:
        """A page of the caller's patients; ``episode`` keeps those whose episode has that status.

        The filter applies to each page as read, so a filtered page may hold fewer than ``limit``
        (even none) and still name a next cursor.
        """
        principal.require(Role.CLINICIAN, Role.ADMIN)
        scope = f"patients:{principal.role.value}:{principal.subject}:{episode or ''}"
        start = self._cursors.decode(scope, cursor)
        if principal.is_admin:
            records, last = self._patients.page_all(limit, start)
        else:
            records, last = self._patients.page_panel(principal.subject, limit, start)
        # A record being de-identified (retention) is listed no more than it can be read.
        records = [r for r in records if not r.get("deidentifying_since")]
        if episode is not None:
            records = [r for r in records if status_of(r) == episode]
        self._audit.record_many(principal, "list", "patient", [(r["patient_id"], None) for r in records])
        return [patient_of(r) for r in records], self._cursors.encode(scope, last)

    def names(self, principal: Principal, patient_ids: list[str]) -> dict[str, str]:
        """Full names of the patients the caller may see among ``patient_ids``, in one batched read and audited.

        For a page that lists other things (the console's alerts) beside each patient's name; a patient the
        caller may not see (off their care team, unknown) is simply left out.
        """
        principal.require(Role.CLINICIAN, Role.ADMIN)
        records = self._patients.many(sorted(set(patient_ids))) if patient_ids else {}
        shown = {
            pid: " ".join(str(r[k]) for k in ("given_name", "family_name") if r.get(k)) or pid
            for pid, r in records.items()
            if can_see_patient(principal, pid, r.get("care_team", []))
        }
        self._audit.record_many(principal, "list", "patient", [(pid, {"fields": "name"}) for pid in sorted(shown)])
        return shown

    def patch(self, principal: Principal, patient_id: str, request: PatientPatch) -> Patient:
        record = self.visible_record(principal, patient_id)
        require_open_to_the_patient(principal.is_patient, record)
        changes = request.model_dump(mode="json", exclude_unset=True)
        if not is_care_team(principal, record.get("care_team", [])):
            # the patient themselves (only route into here besides the care team)
            forbidden = sorted(set(changes) - PatientPatch.PATIENT_FIELDS)
            if forbidden:
                raise ForbiddenError(f"A patient may not change {', '.join(forbidden)}.")
        if "care_team" in changes:
            if not principal.is_admin:  # docs/api.md "Trust rules" (F12): nobody else may move a patient's care
                raise ForbiddenError("Only an admin may change a patient's care team.")
            changes["care_team"] = list(dict.fromkeys(changes["care_team"]))
            _require_a_care_team(changes["care_team"])
            self._require_clinicians(changes["care_team"], "care_team")
        held = self._contacts.screen(principal, record, changes)  # a patient's new phone/email waits for its code
        if all(record.get(k) == v for k, v in changes.items()):
            # Nothing changes (a repeated PATCH): answer with the record as it is, write nothing.
            self._audit.record(principal, "update", "patient", patient_id, {"fields": [], "unchanged": True})
            self._contacts.send_codes(principal, patient_id, held)  # none again within a minute
            return patient_of(record)
        updated = {**record, **changes, "updated_at": iso(self._clock())}
        patient = patient_of(updated)  # re-validates the merged record
        if "glucose_profile" in changes:
            validate_targets(targets_of(updated))
        self._patients.replace({**updated, **patient.model_dump(mode="json", exclude=NOT_STORED)}, record)
        self._audit.record(principal, "update", "patient", patient_id, {"fields": sorted(changes)})
        self._contacts.send_codes(principal, patient_id, held)
        return patient

    def _require_clinicians(self, clinician_ids: list[str], field: str) -> None:
        known = self._clinicians.many(clinician_ids)  # one read for the whole team
        missing = [cid for cid in clinician_ids if cid not in known]
        if missing:
            raise InvalidInputError(
                "Every care-team member must be a registered clinician.",
                [FieldError(field, f"unknown clinician {cid}") for cid in missing],
            )

    # -- targets ------------------------------------------------------------

    def get_targets(self, principal: Principal, patient_id: str) -> Targets:
        record = self.visible_record(principal, patient_id)
        self._audit.record(principal, "read", "targets", patient_id)
        return targets_of(record)

    def put_targets(self, principal: Principal, patient_id: str, request: TargetsIn) -> Targets:
        record = self._care_team_record(principal, patient_id)
        profile = request.glucose_profile or record.get("glucose_profile", "standard")
        targets = effective_targets(profile, request)
        validate_targets(targets)  # override_critical moves no hard limit
        asked = request.model_dump(mode="json", exclude_none=True)
        if record.get("targets") == asked and record.get("glucose_profile", "standard") == profile:
            # The same targets again (a repeated PUT): no new version, the same answer.
            self._audit.record(principal, "update", "targets", patient_id, {"unchanged": True})
            return targets_of(record)
        now = iso(self._clock())
        version = int(record.get("targets_version", 0)) + 1
        updated = {
            **record,
            "glucose_profile": profile,
            "targets": request.model_dump(mode="json", exclude_none=True),
            "targets_version": version,
            "targets_updated_at": now,
            "targets_updated_by": principal.subject,
            "updated_at": now,
        }
        self._patients.replace(updated, record)
        detail: dict[str, Any] = {"version": version}
        if request.reason:
            detail.update(reason=request.reason)
        self._audit.record(principal, "update", "targets", patient_id, detail)
        return targets_of(updated)

    # -- consents and devices --------------------------------------------------

    def put_consent(self, principal: Principal, patient_id: str, channel: str, request: ConsentIn) -> Consent:
        record = self.visible_record(principal, patient_id)
        if principal.is_patient and request.source != "app":  # provenance is the server's (F17)
            raise InvalidInputError(
                "A patient records their own consent in the app.", [FieldError("source", "must be app")]
            )
        if not principal.is_patient and request.source not in ("paper", "verbal"):
            raise ForbiddenError("The care team records only paper or verbal consent.")
        if not principal.is_patient and not is_care_team(principal, record.get("care_team", [])):
            raise ForbiddenError("Only the patient or their care team may record consent.")
        current = next((c for c in self._patients.consents(patient_id) if c.get("channel") == channel), {})
        withdrawn = withdrawn_by_patient(current, patient_id)
        if not principal.is_patient and request.granted and withdrawn:
            raise ConflictError(
                "The patient withdrew this consent themselves; only the patient can grant it again "
                "(in the app, or START by text for SMS)."
            )
        if current and all(current.get(k) == v for k, v in request.model_dump().items()):
            # The same consent again (a repeated PUT): nothing changes, the same answer.
            self._audit.record(principal, "update", "consent", patient_id, {"channel": channel, "unchanged": True})
            return Consent.model_validate({k: v for k, v in current.items() if k in Consent.model_fields})
        consent = Consent.model_validate(
            {
                **request.model_dump(),
                "channel": channel,
                # An SMS STOP is the carrier's opt-out list; only START by text lifts it.
                "opted_out": bool(current.get("opted_out")),
                "updated_at": iso(self._clock()),
                "updated_by": principal.subject,
            }
        )
        stored: dict[str, Any] = {**consent.model_dump(mode="json"), "recorded_role": principal.role.value}
        if principal.is_patient and not consent.granted:
            stored["patient_withdrawn_at"] = stored["updated_at"]
        elif not principal.is_patient and withdrawn:
            stored["patient_withdrawn_at"] = withdrawn  # a staff record never lifts the patient's withdrawal
        self._patients.put_consent(patient_id, stored)
        detail = {"channel": channel, "granted": consent.granted, "full_content": consent.full_content}
        self._audit.record(principal, "update", "consent", patient_id, {**detail, "source": consent.source})
        return consent

    def list_consents(self, principal: Principal, patient_id: str) -> list[Consent]:
        self.visible_record(principal, patient_id)
        self._audit.record(principal, "read", "consent", patient_id)
        fields = Consent.model_fields
        return [
            Consent.model_validate({k: v for k, v in c.items() if k in fields})
            for c in self._patients.consents(patient_id)
        ]

    def register_device(self, principal: Principal, patient_id: str, request: DeviceIn) -> Device:
        require_open_to_the_patient(principal.is_patient, self.visible_record(principal, patient_id))
        principal.require(Role.PATIENT)
        endpoint_arn = self._push.register(request.platform, request.token, patient_id)
        stored = self._patients.put_device(
            patient_id,
            {"platform": request.platform, "endpoint_arn": endpoint_arn, "created_at": iso(self._clock())},
            request.token,
        )
        self._audit.record(principal, "create", "device", patient_id)
        return Device.model_validate(stored)


class ClinicianService:
    def __init__(
        self, clinicians: ClinicianStore, clock: Callable[[], datetime], sms_countries: tuple[str, ...] = ("+1",)
    ) -> None:
        self._clinicians = clinicians
        self._clock = clock
        self._sms_countries = sms_countries  # a page by SMS or voice could not reach another country's number

    def put(self, principal: Principal, clinician_id: str, request: ClinicianIn) -> Clinician:
        if request.clinician_id not in (None, clinician_id):
            raise InvalidInputError(
                "clinician_id in the body must match the path.", [FieldError("clinician_id", "does not match path")]
            )
        current = self._clinicians.get(clinician_id)
        if principal.is_clinician and principal.subject == clinician_id:
            if current is None:
                raise ForbiddenError("An admin registers clinicians; you may then edit your contact fields.")
            kept = {k: v for k, v in current.items() if k not in ClinicianIn.CONTACT_FIELDS}
            sent = request.model_dump(mode="json", exclude_unset=True)
            changed = sorted(
                k for k in set(sent) - ClinicianIn.CONTACT_FIELDS - {"clinician_id"} if sent[k] != kept.get(k)
            )
            if changed:
                raise ForbiddenError(f"A clinician may change only contact fields, not {', '.join(changed)}.")
            merged = {**kept, **{k: v for k, v in sent.items() if k in ClinicianIn.CONTACT_FIELDS}}
        else:
            principal.require(Role.ADMIN)
            merged = request.model_dump(mode="json")
        check_phone_country(merged.get("phone"), self._sms_countries)
        wanted = {**merged, "clinician_id": clinician_id}
        if current is not None and all(current.get(k) == v for k, v in wanted.items()):
            return clinician_of(current)  # a repeated PUT: nothing changes, the same answer
        clinician = Clinician.model_validate({**merged, "clinician_id": clinician_id, "updated_at": iso(self._clock())})
        # A provider's mark on an address stays while the address does (a PUT replaces the whole profile).
        marks = {k: v for k, v in (current or {}).items() if k.startswith("unreachable_")}
        self._clinicians.put({**clinician.model_dump(mode="json", exclude=NOT_STORED), **marks})
        return clinician_of({**clinician.model_dump(mode="json", exclude=NOT_STORED), **marks})

    def get(self, principal: Principal, clinician_id: str) -> Clinician:
        if not (principal.is_admin or (principal.is_clinician and principal.subject == clinician_id)):
            raise NotFoundError("Clinician not found.")
        record = self._clinicians.get(clinician_id)
        if record is None:
            raise NotFoundError("Clinician not found.")
        return clinician_of(record)
