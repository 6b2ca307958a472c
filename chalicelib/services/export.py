"""The patient's whole record as FHIR, a page at a time (``GET /patients/{pid}/export?everything=true``).

The record is read in sections, each a bounded read or a Query page, and a page of the export fills up
to ``limit`` entries from them in order, so a patient with 100,000 readings is exported in bounded
memory, one request per page (a Lambda answer is at most 6 MB; a whole record of that size is not):

1. ``head``: the Patient, a Consent per episode with RPM consent and the CarePlan of their reminders
   (single reads; there are few);
2. ``alerts``: a Flag per alert, newest first, Query pages;
3. ``messages``: a Communication per conversation message, newest first, Query pages;
4. ``readings:<type>``: Observations per reading type, newest first, Query pages.

Each page is a ``collection`` Bundle whose ``link`` names the next page (a tamper-proof cursor bound to
the patient and the page size); the first page alone carries the head.  Every page is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, get_args

from chalicelib.domain import fhir
from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.identity import Principal
from chalicelib.domain.readings import Reading
from chalicelib.domain.timeutil import iso
from chalicelib.services.ports import Audit, Page, PatientAccess, Record

SECTIONS = ("head", "alerts", "messages", *(f"readings:{t}" for t in get_args(Reading.model_fields["type"].annotation)))


class ExportSources(Protocol):
    """Where each section is read from (the DynamoDB repositories, or their fakes)."""

    def episodes(self, patient_id: str) -> list[Record]: ...

    def reminders(self, patient_id: str) -> list[Record]: ...

    def alerts(self, patient_id: str, limit: int, start_key: Any) -> Page: ...

    def messages(self, patient_id: str, limit: int, start_key: Any) -> Page: ...

    def readings(self, patient_id: str, reading_type: str, limit: int, start_key: Any) -> Page: ...


class ExportService:
    def __init__(
        self,
        sources: ExportSources,
        patients: PatientAccess,
        audit: Audit,
        cursors: CursorCodec,
        clock: Callable[[], datetime],
        to_reading: Callable[[Record], Any],
        patient_of: Callable[[Record], Any],
    ) -> None:
        self._sources = sources
        self._patients = patients
        self._audit = audit
        self._cursors = cursors
        self._clock = clock
        self._to_reading = to_reading
        self._patient_of = patient_of

    def page(self, principal: Principal, patient_id: str, limit: int, cursor: str | None, link: str) -> dict[str, Any]:
        """One page of the whole record; ``link`` is the path the next page's URL is built on."""
        record = self._patients.visible_record(principal, patient_id)
        scope = f"export:{patient_id}:{limit}"
        position: dict[str, Any] = self._cursors.decode(scope, cursor) or {"section": "head", "key": None}
        resources: list[dict[str, Any]] = []
        section_index = SECTIONS.index(position["section"]) if position["section"] in SECTIONS else 0
        key = position.get("key")
        following: dict[str, Any] | None = None
        while section_index < len(SECTIONS):
            section = SECTIONS[section_index]
            room = limit - len(resources)
            if room <= 0:
                following = {"section": section, "key": key}
                break
            if section == "head":
                resources += self._head(record)
                last = None
            else:
                found, last = self._read(patient_id, section, room, key)
                resources += found
            if last is not None:
                key = last
                continue
            section_index, key = section_index + 1, None
        bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "collection", "timestamp": iso(self._clock())}
        if resources:  # FHIR JSON has no empty arrays
            bundle["entry"] = fhir.entries(resources)
        next_cursor = self._cursors.encode(scope, following) if following else None
        bundle["link"] = [{"relation": "self", "url": link}]
        if next_cursor:
            bundle["link"].append({"relation": "next", "url": f"{link}&cursor={next_cursor}"})
        self._audit.record(principal, "export", "patient", patient_id, {"entries": len(resources), "everything": True})
        return bundle

    def _head(self, record: Record) -> list[dict[str, Any]]:
        pid = record["patient_id"]
        head = [fhir.patient_resource(self._patient_of(record))]
        for episode in self._sources.episodes(pid):
            consent = fhir.consent_resource(pid, episode)
            if consent is not None:
                head.append(consent)
        reminders = self._sources.reminders(pid)
        if reminders:
            head.append(fhir.care_plan_resource(pid, reminders))
        return head

    def _read(self, pid: str, section: str, room: int, key: Any) -> tuple[list[dict[str, Any]], Any]:
        """Up to ``room`` resources of ``section`` from ``key``, and where the section goes on (None: done)."""
        if section == "alerts":
            page = self._sources.alerts(pid, room, key)
            return [fhir.flag_resource(a) for a in page.items], page.last_key
        if section == "messages":
            page = self._sources.messages(pid, room, key)
            return [fhir.communication_resource(pid, m) for m in page.items], page.last_key
        reading_type = section.split(":", 1)[1]
        # A blood-pressure reading with a pulse is two Observations (the panel and the heart rate).
        per_reading = 2 if reading_type == "blood_pressure" else 1
        page = self._sources.readings(pid, reading_type, max(1, room // per_reading), key)
        found: list[dict[str, Any]] = []
        for item in page.items:
            found += fhir.reading_resources(self._to_reading(item))
        return found, page.last_key
