"""Appointments: book, remind before, confirm or ask to reschedule by reply, reschedule, cancel.

The seed's video follow-up after an abnormal reading.  Reminders ride on the
due index like every other scheduled message; replies ``C``/``CONFIRM`` and
``R``/``RESCHEDULE`` answer the next appointment; a reschedule request becomes
a task for the care team; rescheduling and cancelling tell the patient.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from chalicelib.domain.appointments import (
    OPEN,
    START_WINDOW,
    Appointment,
    AppointmentIn,
    AppointmentPatch,
    in_window,
    reminder_times,
)
from chalicelib.domain.errors import ConflictError, FieldError, ForbiddenError, InvalidInputError, NotFoundError
from chalicelib.domain.events import Publish, RescheduleRequested
from chalicelib.domain.idempotency import chosen_id, fingerprint
from chalicelib.domain.identity import Principal, is_care_team
from chalicelib.domain.messages import Intent, Recipient
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.observability import count
from chalicelib.services.ports import Audit, Outbox, PatientAccess, Patients, Record, Timeline


class AppointmentStore(Protocol):
    """Appointments, one per ``(patient_id, appointment_id)`` (``DynamoAppointmentStore``).

    A record is a dict of an appointment's fields (``Appointment``'s, plus
    ``request_hash``); one read back may carry storage attributes too, which
    the service hands back unchanged.  While the appointment is open and a
    reminder is unsent, the store puts it on the due index (entity
    ``appointment``) at its earliest unsent reminder, for ``remind_due``.
    """

    def create(self, record: Record) -> bool:
        """Store a new appointment; False (nothing written) when its id is taken."""
        ...

    def save(self, record: Record, expected_updated_at: str) -> bool:
        """Replace the appointment if its ``updated_at`` is still ``expected_updated_at``; False otherwise."""
        ...

    def get(self, patient_id: str, appointment_id: str) -> Record | None: ...

    def of_patient(self, patient_id: str) -> list[Record]:
        """Every appointment of the patient (any status), by appointment id, read consistently."""
        ...


def to_appointment(item: dict[str, Any]) -> Appointment:
    return Appointment.model_validate({k: v for k, v in item.items() if k in Appointment.model_fields})


class AppointmentService:
    def __init__(
        self,
        store: AppointmentStore,
        patients: PatientAccess,
        profiles: Patients,
        events: Timeline,
        messaging: Outbox,
        audit: Audit,
        clock: Callable[[], datetime],
        new_id: Callable[[str], str],
        publish: Publish,
    ) -> None:
        self._store = store
        self._patients = patients
        self._profiles = profiles
        self._events = events
        self._messaging = messaging
        self._audit = audit
        self._clock = clock
        self._new_id = new_id
        self._publish = publish

    def _reminders(self, record: dict[str, Any], starts_at: datetime, offsets: list[str]) -> list[dict[str, Any]]:
        quiet = record.get("quiet_hours") or {"start": "21:00", "end": "08:00"}
        times = reminder_times(
            starts_at, offsets, self._clock(), record.get("timezone", "UTC"), (quiet["start"], quiet["end"])
        )
        return [{"due_at": iso(t), "sent": False} for t in times]

    def book(
        self, principal: Principal, patient_id: str, request: AppointmentIn, idempotency_key: str | None = None
    ) -> tuple[int, Appointment]:
        """201 and the new appointment; 200 and the stored one for a repeat of the same request; 409 otherwise."""
        record = self._patients.visible_record(principal, patient_id)
        if not is_care_team(principal, record.get("care_team", [])):
            raise ForbiddenError("Only the care team books appointments.")
        self._check_start(request.starts_at)
        now = iso(self._clock())
        appointment_id = chosen_id(
            request.appointment_id,
            idempotency_key,
            "appt",
            ("appointments", patient_id, principal.subject),
            self._new_id,
        )
        asked = fingerprint(request.model_dump(mode="json", exclude={"appointment_id"}))
        item = {
            **request.model_dump(mode="json", exclude={"starts_at"}),
            "request_hash": asked,
            "appointment_id": appointment_id,
            "patient_id": patient_id,
            "starts_at": iso(request.starts_at),
            "status": "scheduled",
            "reminders": self._reminders(record, request.starts_at, request.remind_before),
            "created_at": now,
            "updated_at": now,
        }
        if not self._store.create(item):
            existing = self._store.get(patient_id, appointment_id)
            if existing is None or existing.get("request_hash") != asked:
                raise ConflictError("An appointment with this appointment_id already exists.")
            return 200, to_appointment(existing)
        self._note(patient_id, item, f"{item['kind']} appointment booked for {item['starts_at']}")
        self._audit.record(principal, "create", "appointment", patient_id)
        return 201, to_appointment(item)

    def _check_start(self, starts_at: datetime) -> None:
        if not in_window(starts_at, self._clock()):
            raise InvalidInputError("The appointment time is out of range.", [FieldError("starts_at", START_WINDOW)])

    def list(self, principal: Principal, patient_id: str) -> list[Appointment]:
        self._patients.visible_record(principal, patient_id)
        self._audit.record(principal, "list", "appointment", patient_id)
        return sorted((to_appointment(i) for i in self._store.of_patient(patient_id)), key=lambda a: a.starts_at)

    def _existing(self, patient_id: str, appointment_id: str) -> dict[str, Any]:
        item = self._store.get(patient_id, appointment_id)
        if item is None:
            raise NotFoundError("Appointment not found.")
        return item

    def get(self, principal: Principal, patient_id: str, appointment_id: str) -> Appointment:
        self._patients.visible_record(principal, patient_id)
        item = self._existing(patient_id, appointment_id)
        self._audit.record(principal, "read", "appointment", patient_id)
        return to_appointment(item)

    def patch(
        self, principal: Principal, patient_id: str, appointment_id: str, request: AppointmentPatch
    ) -> Appointment:
        record = self._patients.visible_record(principal, patient_id)
        item = self._existing(patient_id, appointment_id)
        confirming = request.model_fields_set == {"status"} and request.status == "confirmed"
        if not is_care_team(principal, record.get("care_team", [])) and not confirming:
            raise ForbiddenError("A patient may only confirm an appointment.")
        changes = request.model_dump(mode="json", exclude_unset=True)
        if item["status"] not in OPEN:
            raise ConflictError(f"The appointment is {item['status']}.")
        # Only a new time must fall in the window: re-sending the stored one (a form's full PATCH) is no change.
        if request.starts_at is not None and request.starts_at != parse_iso(item["starts_at"]):
            self._check_start(request.starts_at)
        wanted = {**changes, **({"starts_at": iso(request.starts_at)} if request.starts_at else {})}
        if all(item.get(k) == v for k, v in wanted.items()):
            return to_appointment(item)  # a repeated PATCH: nothing changes, the same answer
        updated = {**item, **changes, "updated_at": iso(self._clock())}
        rescheduled = "starts_at" in changes or "remind_before" in changes
        if request.starts_at is not None:
            updated["starts_at"] = iso(request.starts_at)
        if rescheduled:
            updated["reminders"] = self._reminders(record, parse_iso(updated["starts_at"]), updated["remind_before"])
            updated["status"] = changes.get("status", "scheduled")
        self._save(updated, item)
        if rescheduled:
            self._tell(updated, "appointment_rescheduled", f"rescheduled:{updated['starts_at']}")
            self._note(patient_id, updated, f"appointment rescheduled to {updated['starts_at']}")
        elif "status" in changes:
            self._note(patient_id, updated, f"appointment {changes['status']}")
        self._audit.record(principal, "update", "appointment", patient_id, {"fields": sorted(changes)})
        return to_appointment(updated)

    def cancel(self, principal: Principal, patient_id: str, appointment_id: str) -> Appointment:
        record = self._patients.visible_record(principal, patient_id)
        if not is_care_team(principal, record.get("care_team", [])):
            raise ForbiddenError("Only the care team cancels appointments.")
        item = self._existing(patient_id, appointment_id)
        if item["status"] == "cancelled":
            return to_appointment(item)  # a repeated cancel: already done, the same answer
        if item["status"] not in OPEN:
            raise ConflictError(f"The appointment is {item['status']}.")
        updated = {**item, "status": "cancelled", "updated_at": iso(self._clock())}
        self._save(updated, item)
        self._tell(updated, "appointment_cancelled", "cancelled")
        self._note(patient_id, updated, "appointment cancelled")
        self._audit.record(principal, "cancel", "appointment", patient_id)
        return to_appointment(updated)

    def _save(self, updated: dict[str, Any], previous: dict[str, Any]) -> None:
        if not self._store.save(updated, previous["updated_at"]):
            raise ConflictError("The appointment changed meanwhile; fetch it and retry.")

    # -- replies and the tick ------------------------------------------------------------

    def reply(self, patient_id: str, at: datetime, inbound_id: str, answer: str) -> None:
        """SMS C/CONFIRM or R/RESCHEDULE: answers the next upcoming open appointment."""
        upcoming = [i for i in self._store.of_patient(patient_id) if i["status"] in OPEN and i["starts_at"] > iso(at)]
        if not upcoming:
            return
        item = min(upcoming, key=lambda i: i["starts_at"])
        status = "confirmed" if answer == "confirm" else "reschedule_requested"
        updated = {**item, "status": status, "updated_at": iso(at)}
        self._save(updated, item)
        self._note(patient_id, updated, f"patient replied by SMS: {status.replace('_', ' ')}")
        if status == "reschedule_requested":
            self._publish(RescheduleRequested(patient_id, f"reschedule-{item['appointment_id']}-{inbound_id}", at))

    def remind_due(self, item: dict[str, Any], now: datetime) -> None:
        """Send every reminder of this appointment that is due (once), then wait for the next one."""
        due = [r for r in item["reminders"] if not r["sent"] and r["due_at"] <= iso(now)]
        if not due:
            return
        updated = {
            **item,
            "reminders": [{**r, "sent": r["sent"] or r in due} for r in item["reminders"]],
            "updated_at": iso(now),
        }
        if not self._store.save(updated, item["updated_at"]):
            return  # another tick sent them
        latest = max(r["due_at"] for r in due)
        self._tell(updated, "appointment_reminder", f"reminder:{latest}")
        self._events.put_event(
            item["patient_id"],
            "reminder_sent",
            now,
            f"appt-{item['appointment_id']}-{latest}",
            f"appointment reminder for {item['starts_at']}",
            None,
            {"appointment_id": item["appointment_id"]},
        )
        count("AppointmentRemindersSent")

    def _tell(self, item: dict[str, Any], template: str, tag: str) -> None:
        record = self._profiles.get(item["patient_id"]) or {}
        when = parse_iso(item["starts_at"]).astimezone(ZoneInfo(record.get("timezone", "UTC")))
        # The appointment and start it speaks of: messaging checks them again when it delivers (held notices).
        params = {
            "when": when.strftime("%Y-%m-%d %H:%M"),
            "appointment_id": item["appointment_id"],
            "starts_at": item["starts_at"],
        }
        base = f"appt:{item['patient_id']}:{item['appointment_id']}:{tag}"
        intents = [
            Intent(
                intent_id=base,
                recipient=Recipient(kind="patient", id=item["patient_id"]),
                template=template,
                params=params,
                created_at=self._clock(),
                patient_id=item["patient_id"],
            )
        ]
        if item.get("join_url") and template in ("appointment_reminder", "appointment_rescheduled"):
            # The join link never goes by SMS: push or email only.
            intents.append(
                Intent(
                    intent_id=f"{base}:link",
                    recipient=Recipient(kind="patient", id=item["patient_id"]),
                    template="appointment_join_link",
                    params={**params, "join_url": item["join_url"]},
                    only_channels=["push", "email"],
                    created_at=self._clock(),
                    patient_id=item["patient_id"],
                )
            )
        self._messaging.enqueue(*intents)

    def _note(self, patient_id: str, item: dict[str, Any], summary: str) -> None:
        self._events.put_event(
            patient_id,
            "note",
            self._clock(),
            f"appt-{item['appointment_id']}-{item['updated_at']}",
            summary,
            None,
            {"appointment_id": item["appointment_id"]},
        )
