"""Inbound SMS: keywords, readings by text, red flags and the conversation.

Replies to the sender (keyword confirmations, reading acknowledgements) go
straight back by SMS, as a carrier's auto-reply would, and are recorded in the
timeline; everything else goes through the messaging engine.  An unknown
number gets nothing back: no data leaves for a number we cannot tie to a
patient.

A glucose texted without a unit is read in the patient's ``glucose_unit``
(docs/clinical.md rule 8, :func:`read_glucose`), and a reading by text is recorded
through the same :class:`ReadingService` as the API's.  A number several
patients share (a family phone) is never guessed (rule 9): readings, TAKEN,
appointment replies and free text from it are attributed to nobody, the sender
is asked to use the app and each sharing patient's care team gets a task; a red
flag opens a critical alert for every one of them; STOP / START apply to the
number, so to every one of them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ValidationError

from chalicelib.domain.delivery import SendError
from chalicelib.domain.errors import CarewireError
from chalicelib.domain.events import AppointmentAnswered, DoseTakenTexted, Publish, RedFlagTexted
from chalicelib.domain.identity import Principal, Role
from chalicelib.domain.messages import Intent, Recipient
from chalicelib.domain.sms_commands import Command, SmsGlucose, parse, read_glucose
from chalicelib.domain.templates import TEMPLATES, render
from chalicelib.domain.timeutil import iso
from chalicelib.observability import count
from chalicelib.services.messaging import MessagingService
from chalicelib.services.ports import (
    Audit,
    Channel,
    ConsentPatients,
    InboundConversation,
    InboundStore,
    ReadingRecorder,
)

# Why each sharing patient's care team gets a task (no PHI: no text, no value, no name).
SHARED_TASK_REASONS: dict[str, str] = {
    "reading": "a reading texted from a phone number several patients share was not stored",
    "bad_reading": "a reading texted from a phone number several patients share was not stored",
    "taken": "a TAKEN reply from a phone number several patients share was not recorded",
    "confirm": "an appointment reply from a phone number several patients share was not recorded",
    "reschedule": "an appointment reply from a phone number several patients share was not recorded",
    "text": "a text from a phone number several patients share was not added to a conversation",
    "red_flag": "a red-flag text from a phone number several patients share opened a critical alert for each",
}


class InboundSmsService:
    def __init__(
        self,
        patients: ConsentPatients,
        store: InboundStore,
        sms: Channel,
        conversations: InboundConversation,
        readings: ReadingRecorder,
        messaging: MessagingService,
        clinic: dict[str, str],
        audit: Audit,
        publish: Publish,
    ) -> None:
        self._audit = audit
        self._patients = patients
        self._store = store
        self._sms = sms
        self._conversations = conversations
        self._readings = readings
        self._messaging = messaging
        self._clinic = clinic
        self._publish = publish

    def handle(self, sender: str, body: str, inbound_id: str, at: datetime) -> str:
        """Process one inbound SMS; returns what it was taken for (for logs and tests)."""
        found = (self._patients.get(pid) for pid in sorted(set(self._store.patients_by_phone(sender))))
        # The SMS consent is read once per message and kept current on the record by the handlers.
        # A record being de-identified (retention) takes no more messages: its sender is nobody we know.
        live = [r for r in found if r is not None and not r.get("deidentifying_since")]
        records = [{**r, "sms_consent": self._consent(r["patient_id"])} for r in live]
        if not records:
            count("InboundFromUnknownNumbers")
            return "unknown_sender"
        command = parse(body)
        if len(records) > 1:
            self._from_shared_number(records, command, inbound_id, at)
            count(f"InboundShared_{command.kind}")
            return f"shared:{command.kind}"
        record = records[0]
        patient_id = record["patient_id"]
        self._conversations.record_inbound(patient_id, "sms", body, at, inbound_id)
        self._messaging.record_response(patient_id, at)
        handler = getattr(self, f"_on_{command.kind}")
        handler(record, command, body, inbound_id, at)
        count(f"Inbound_{command.kind}")
        return command.kind

    # -- a number several patients share (docs/clinical.md rule 9) ----------------------

    def _from_shared_number(
        self, records: list[dict[str, Any]], command: Command, inbound_id: str, at: datetime
    ) -> None:
        if command.kind == "opt_out":
            changed = [r for r in records if not r["sms_consent"].get("opted_out")]
            for record in changed:
                self._set_sms_consent(record, granted=False, at=at, inbound_id=inbound_id)
            if changed:  # one confirmation only, then silence
                self._reply(records, "opt_out_confirmation", at, inbound_id, ignore_opt_out=True)
            return
        if command.kind == "opt_in":
            for record in records:
                self._set_sms_consent(record, granted=True, at=at, inbound_id=inbound_id)
            self._reply(records, "opt_in_confirmation", at, inbound_id)
            return
        if command.kind == "help":
            self._reply(records, "help", at, inbound_id, ignore_opt_out=True)
            return
        if command.kind == "red_flag":
            for record in records:  # whoever it is about, each of them may need help now
                self._publish(RedFlagTexted(record["patient_id"], at, inbound_id))
        reason = SHARED_TASK_REASONS[command.kind]
        for record in records:
            # The task id comes from the inbound message: a redelivered SMS creates none twice.
            self._messaging.create_task(
                record["patient_id"],
                f"shared-sms-{inbound_id}",
                "shared_phone_message",
                f"{reason}; call to ask who",
                at,
            )
        template = "red_flag_patient" if command.kind == "red_flag" else "shared_phone_use_app"
        self._reply(records, template, at, inbound_id)

    # -- keywords ------------------------------------------------------------------

    def _on_opt_out(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        if record["sms_consent"].get("opted_out"):
            return  # one confirmation only, then silence
        self._set_sms_consent(record, granted=False, at=at, inbound_id=inbound_id)
        self._reply([record], "opt_out_confirmation", at, inbound_id, ignore_opt_out=True)

    def _on_opt_in(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        self._set_sms_consent(record, granted=True, at=at, inbound_id=inbound_id)
        self._reply([record], "opt_in_confirmation", at, inbound_id)

    def _on_help(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        self._reply([record], "help", at, inbound_id, ignore_opt_out=True)  # HELP is answered even after STOP

    def _on_taken(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        self._publish(DoseTakenTexted(record["patient_id"], at, inbound_id))

    def _on_confirm(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        self._publish(AppointmentAnswered(record["patient_id"], at, inbound_id, "confirm"))

    def _on_reschedule(
        self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime
    ) -> None:
        self._publish(AppointmentAnswered(record["patient_id"], at, inbound_id, "reschedule"))

    # -- content -------------------------------------------------------------------

    def _on_red_flag(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        self._publish(RedFlagTexted(record["patient_id"], at, inbound_id))
        self._reply([record], "red_flag_patient", at, inbound_id)

    def _on_reading(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        payload: dict[str, Any] = {
            # The inbound message id makes the reading id: a redelivered SMS is stored once.
            "reading_id": f"sms-{inbound_id}"[:64],
            "measured_at": iso(at),
            "source": "sms",
        }
        glucose: SmsGlucose | None = None
        if command.systolic is None:
            glucose = read_glucose(command, record.get("glucose_unit") or "mg/dL")
            payload.update(type="blood_glucose", unit=glucose.unit, context="random")
            payload.update({"meter_flag": glucose.meter_flag} if glucose.meter_flag else {"value": glucose.value})
        else:
            payload.update(
                type="blood_pressure",
                systolic=command.systolic,
                diastolic=command.diastolic,
                pulse=command.pulse,
                unit="mmHg",
            )
        principal = Principal(record["patient_id"], Role.PATIENT, request_id=f"sms-{inbound_id}")
        try:
            outcome = self._readings.record(principal, record["patient_id"], payload)
        except (ValidationError, CarewireError):
            self._reply([record], "sms_not_understood", at, inbound_id)
            return
        reading = outcome.reading
        if reading is None:
            self._reply([record], "sms_not_understood", at, inbound_id)
            return
        if glucose is not None and glucose.out_of_meter_range:
            # Stored as the meter's HI / LO (critical: the alert pipeline pages and sends the safety message).
            self._reply([record], "sms_glucose_recheck", at, inbound_id)
            return
        critical = reading.classification.severity.startswith("critical")
        if glucose is not None and glucose.unit_inferred:
            # Say which unit the number was read in; a critical one's advice comes from the alert pipeline.
            self._reply(
                [record],
                "sms_glucose_received",
                at,
                inbound_id,
                full=not critical,
                unit=glucose.unit,
                guidance=reading.classification.guidance,
            )
            return
        if critical:
            return  # the alert pipeline sends the safety message on the patient's best channel
        self._reply([record], "sms_reading_received", at, inbound_id, guidance=reading.classification.guidance)

    def _on_bad_reading(
        self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime
    ) -> None:
        self._reply([record], "sms_not_understood", at, inbound_id)

    def _on_text(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        pid = record["patient_id"]
        self._messaging.enqueue(
            *[
                Intent(
                    intent_id=f"inbound:{inbound_id}:{cid}",
                    recipient=Recipient(kind="clinician", id=cid),
                    template="patient_message_clinician",
                    params={"patient_id": pid},
                    created_at=at,
                    patient_id=pid,
                )
                for cid in record.get("care_team", [])
            ]
        )

    # -- helpers -------------------------------------------------------------------

    def _consent(self, patient_id: str) -> dict[str, Any]:
        items = self._store.contact_items(patient_id)
        return next((i for i in items if i["sk"] == "CONSENT#sms"), {})

    def _set_sms_consent(self, record: dict[str, Any], granted: bool, at: datetime, inbound_id: str) -> None:
        """STOP / START: the patient's own consent change, by text; audited as theirs (F5)."""
        patient_id = record["patient_id"]
        consent = {
            "channel": "sms",
            "granted": granted,
            "opted_out": not granted,
            "source": "sms",
            "full_content": bool(record["sms_consent"].get("full_content")) and granted,
            "updated_at": iso(at),
            "updated_by": patient_id,
        }
        self._patients.put_consent(patient_id, consent)
        record["sms_consent"] = consent
        principal = Principal(patient_id, Role.PATIENT, request_id=f"sms-{inbound_id}")
        detail = {"channel": "sms", "granted": granted, "source": "sms", "inbound_message_id": inbound_id}
        self._audit.record(principal, "update", "consent", patient_id, detail)
        # The timeline's consent_changed event follows from the table stream, as for every consent write.

    def _reply(
        self,
        records: list[dict[str, Any]],
        template: str,
        at: datetime,
        inbound_id: str,
        ignore_opt_out: bool = False,
        full: bool = True,
        **params: Any,
    ) -> None:
        """One SMS back to the sender's number, recorded in the timeline of each patient it belongs to.

        A number several patients share gets nothing while any of them has opted out
        (STOP applies to the number), and never the full-content variant.
        """
        if not ignore_opt_out and any(r["sms_consent"].get("opted_out") for r in records):
            return
        if not self._messaging.may_dial(records[0]["phone"]):
            count("MessagesRefusedByCountry")  # a number stored before the country allow-list gets no reply
            return
        consent = records[0]["sms_consent"]
        shared = len(records) > 1
        if full and not shared and consent.get("full_content") and consent.get("granted"):
            template = f"{template}_full" if f"{template}_full" in TEMPLATES else template
        languages = {r.get("language", "en") for r in records}
        language = languages.pop() if len(languages) == 1 else "en"
        message = render(template, language, {**self._clinic, **params})
        try:
            self._sms.send(records[0]["phone"], message)
        except SendError as error:
            for record in records:
                self._store.put_event(
                    record["patient_id"],
                    "delivery_failed",
                    at,
                    f"reply-{inbound_id}-{template}",
                    f"sms reply failed ({error.code})",
                    "sms",
                    {"template": template},
                )
            return
        for record in records:
            pid = record["patient_id"]
            self._store.count_send(pid, "sms", at)
            self._store.put_event(
                pid,
                "message_out",
                at,
                f"reply-{inbound_id}-{template}",
                f"{template} sent by sms",
                "sms",
                {"template": template},
            )
