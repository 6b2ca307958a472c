"""RPM billing support: clinician care time, and the monthly report per patient.

Device days are kept by the stream (``RPM#<month>`` items, local days); care
time is logged here.  The report pages through the caller's patients (panel
for a clinician, everyone for an admin) and reads each page's month items in
one BatchGetItem: the cost is per patient, not per reading.
"""

from __future__ import annotations

import calendar
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from chalicelib.domain import billing
from chalicelib.domain.billing import CareTime, CareTimeIn, RpmRow
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.episodes import in_spans
from chalicelib.domain.errors import ConflictError, FieldError, ForbiddenError, InvalidInputError, MalformedRequestError
from chalicelib.domain.identity import Principal, Role, is_care_team
from chalicelib.domain.timeutil import iso
from chalicelib.services.ports import ListAudit, PatientAccess, PatientDirectory, Record

FUTURE_SLACK = timedelta(minutes=5)
OLDEST = timedelta(days=400)


class CareTimeLedger(Protocol):
    """Care-time entries and the RPM months they and the device days add up to."""

    def add_care_time(self, entry: Record) -> bool:
        """Store the entry and add its minutes to its month, once: False when the entry already exists."""
        ...

    def care_time(self, patient_id: str, entry_id: str) -> Record | None: ...

    def months(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Record]:
        """The RPM months of (patient_id, month) pairs that have one (``device_days``, ``care_minutes``...)."""
        ...


def rpm_row(record: Record, month: str, item: Record) -> RpmRow:
    """A patient's report row from their record and their RPM month item (empty before anything counted).

    Device days count only inside the patient's billable program days (an episode with RPM consent, not
    paused: ``program_spans`` on the profile, kept by the episodes).
    """
    spans = record.get("program_spans") or []
    periods = _within_month(spans, month)
    days = len([d for d in item.get("device_days") or [] if in_spans(str(d), spans)])
    minutes = int(item.get("care_minutes", 0))
    interactive = int(item.get("interactive_entries", 0)) > 0
    return RpmRow(
        patient_id=record["patient_id"],
        given_name=record.get("given_name"),
        family_name=record.get("family_name"),
        birth_date=record.get("birth_date"),
        mrn=record.get("mrn"),
        month=month,
        device_days=days,
        device_code=billing.device_code(days),  # type: ignore[arg-type]
        care_minutes=minutes,
        interactive=interactive,
        # Management time bills only in a month with days in the program (consent given, not discharged).
        management_codes=billing.management_codes(minutes, interactive) if periods else [],
        program_periods=periods,
    )


def _within_month(spans: list[Any], month: str) -> list[list[str]]:
    """The billable stretches clipped to ``month`` (YYYY-MM); an open one ends with the month."""
    year, number = (int(part) for part in month.split("-"))
    first, last = f"{month}-01", f"{month}-{calendar.monthrange(year, number)[1]:02d}"
    periods = []
    for start, end in spans:
        low, high = max(str(start), first), min(str(end) if end else last, last)
        if low <= high:
            periods.append([low, high])
    return periods


class BillingService:
    def __init__(
        self,
        summaries: CareTimeLedger,
        patient_store: PatientDirectory,
        patients: PatientAccess,
        audit: ListAudit,
        cursors: CursorCodec,
        clock: Callable[[], datetime],
    ) -> None:
        self._summaries = summaries
        self._patient_store = patient_store
        self._patients = patients
        self._audit = audit
        self._cursors = cursors
        self._clock = clock

    def log_care_time(self, principal: Principal, patient_id: str, request: CareTimeIn) -> tuple[int, CareTime]:
        record = self._patients.visible_record(principal, patient_id)
        if not is_care_team(principal, record.get("care_team", [])):
            raise ForbiddenError("Only the patient's care team may log care time.")
        now = self._clock()
        if request.at > now + FUTURE_SLACK or request.at < now - OLDEST:
            raise InvalidInputError("Care time must be in the past year.", [FieldError("at", "not in the future")])
        local = request.at.astimezone(ZoneInfo(record.get("timezone") or "UTC"))
        # The same clinician logging the same work at the same moment is a retry, not more minutes.
        fingerprint = f"{patient_id}|{principal.subject}|{iso(request.at)}|{request.activity}"
        entry = CareTime(
            entry_id="ct-" + hashlib.sha256(fingerprint.encode()).hexdigest()[:24],
            patient_id=patient_id,
            clinician_id=principal.subject,
            minutes=request.minutes,
            interactive=request.interactive,
            activity=request.activity,
            at=request.at,
            month=billing.month_of(local),
        )
        stored = entry.model_dump(mode="json")
        if self._summaries.add_care_time(stored):
            status = 201
        else:
            existing = self._summaries.care_time(patient_id, entry.entry_id) or {}
            if {k: existing.get(k) for k in stored} != stored:
                raise ConflictError("Different care time was already logged for this activity at this moment.")
            status = 200
        self._audit.record(principal, "create", "care_time", patient_id, {"entry_id": entry.entry_id})
        return status, entry

    def patient_month(self, principal: Principal, patient_id: str, month: str | None = None) -> RpmRow:
        """One patient's row of the report (the console's Care time section): two reads, not a walk of the panel.

        The month defaults to the calendar month in the patient's zone, the period their care time is filed under.
        """
        principal.require(Role.CLINICIAN, Role.ADMIN)
        record = self._patients.visible_record(principal, patient_id)
        if month is None:
            month = billing.month_of(self._clock().astimezone(ZoneInfo(record.get("timezone") or "UTC")))
        elif not billing.MONTH.match(month):
            raise MalformedRequestError("The month must look like 2026-11.", [FieldError("month", "YYYY-MM")])
        item = self._summaries.months([(patient_id, month)]).get((patient_id, month), {})
        self._audit.record(principal, "read", "billing", patient_id, {"month": month})
        return rpm_row(record, month, item)

    def report(
        self, principal: Principal, month: str | None, limit: int, cursor: str | None
    ) -> tuple[list[RpmRow], str | None]:
        principal.require(Role.CLINICIAN, Role.ADMIN)
        if month is None:
            month = billing.month_of(self._clock())
        elif not billing.MONTH.match(month):
            raise MalformedRequestError("The month must look like 2026-11.", [FieldError("month", "YYYY-MM")])
        scope = f"rpm:{principal.role}:{principal.subject}:{month}"
        start = self._cursors.decode(scope, cursor)
        if principal.is_admin:
            records, last = self._patient_store.page_all(limit, start)
        else:
            records, last = self._patient_store.page_panel(principal.subject, limit, start)
        months = self._summaries.months([(r["patient_id"], month) for r in records])
        rows = [rpm_row(r, month, months.get((r["patient_id"], month), {})) for r in records]
        self._audit.record_many(principal, "read", "billing", [(row.patient_id, {"month": month}) for row in rows])
        return rows, self._cursors.encode(scope, last)
