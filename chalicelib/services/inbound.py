"""Inbound SMS: keywords, readings by text, red flags and the conversation.

Replies to the sender (keyword confirmations, reading acknowledgements) go
straight back by SMS, as a carrier's auto-reply would, and are recorded in the
timeline; everything else goes through the messaging engine.  An unknown
number gets nothing back: no data leaves for a number we cannot tie to a
patient.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from chalicelib.adapters.channels import Channel, SendError
from chalicelib.adapters.messaging import DynamoMessagingStore
from chalicelib.adapters.stores import DynamoPatientStore
from chalicelib.domain.errors import CarewireError
from chalicelib.domain.identity import Principal, Role
from chalicelib.domain.messages import Intent, Recipient
from chalicelib.domain.sms_commands import Command, parse
from chalicelib.domain.templates import TEMPLATES, render
from chalicelib.domain.timeutil import iso
from chalicelib.observability import count
from chalicelib.services.conversations import ConversationService
from chalicelib.services.messaging import MessagingService
from chalicelib.services.readings import ReadingService

Hook = Callable[[str, datetime, str], Any]


class InboundSmsService:
    def __init__(
        self,
        patients: DynamoPatientStore,
        store: DynamoMessagingStore,
        sms: Channel,
        conversations: ConversationService,
        readings: ReadingService,
        messaging: MessagingService,
        clinic: dict[str, str],
    ) -> None:
        self._patients = patients
        self._store = store
        self._sms = sms
        self._conversations = conversations
        self._readings = readings
        self._messaging = messaging
        self._clinic = clinic
        # Wired by the composition root once alerts and reminders exist.
        self.on_red_flag: Hook | None = None
        self.on_taken: Hook | None = None
        self.on_appointment_reply: Callable[[str, datetime, str, str], Any] | None = None

    def handle(self, sender: str, body: str, inbound_id: str, at: datetime) -> str:
        """Process one inbound SMS; returns what it was taken for (for logs and tests)."""
        patient_ids = self._store.patients_by_phone(sender)
        if not patient_ids:
            count("InboundFromUnknownNumbers")
            return "unknown_sender"
        # A number shared by several patients (a family phone): the most recently enrolled one answers.
        patient_id = sorted(patient_ids)[-1] if len(patient_ids) > 1 else patient_ids[0]
        record = self._patients.get(patient_id)
        if record is None:
            return "unknown_sender"
        # The SMS consent is read once per message and kept current on the record by the handlers.
        record = {**record, "sms_consent": self._consent(patient_id)}
        command = parse(body)
        self._conversations.record_inbound(patient_id, "sms", body, at, inbound_id)
        self._messaging.record_response(patient_id, at)
        handler = getattr(self, f"_on_{command.kind}")
        handler(record, command, body, inbound_id, at)
        count(f"Inbound_{command.kind}")
        return command.kind

    # -- keywords ------------------------------------------------------------------

    def _on_opt_out(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        if record["sms_consent"].get("opted_out"):
            return  # one confirmation only, then silence
        self._set_sms_consent(record, granted=False, at=at)
        self._reply(record, "opt_out_confirmation", at, inbound_id, ignore_opt_out=True)

    def _on_opt_in(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        self._set_sms_consent(record, granted=True, at=at)
        self._reply(record, "opt_in_confirmation", at, inbound_id)

    def _on_help(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        self._reply(record, "help", at, inbound_id, ignore_opt_out=True)  # HELP is answered even after STOP

    def _on_taken(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        if self.on_taken:
            self.on_taken(record["patient_id"], at, inbound_id)

    def _on_confirm(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        if self.on_appointment_reply:
            self.on_appointment_reply(record["patient_id"], at, inbound_id, "confirm")

    def _on_reschedule(
        self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime
    ) -> None:
        if self.on_appointment_reply:
            self.on_appointment_reply(record["patient_id"], at, inbound_id, "reschedule")

    # -- content -------------------------------------------------------------------

    def _on_red_flag(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        if self.on_red_flag:
            self.on_red_flag(record["patient_id"], at, inbound_id)
        self._reply(record, "red_flag_patient", at, inbound_id)

    def _on_reading(self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime) -> None:
        payload: dict[str, Any] = {
            # The inbound message id makes the reading id: a redelivered SMS is stored once.
            "reading_id": f"sms-{inbound_id}"[:64],
            "measured_at": iso(at),
            "source": "sms",
        }
        if command.glucose is not None:
            payload.update(type="blood_glucose", value=command.glucose, unit=command.unit, context="random")
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
            self._reply(record, "sms_not_understood", at, inbound_id)
            return
        reading = outcome.reading
        if reading is None:
            self._reply(record, "sms_not_understood", at, inbound_id)
            return
        if reading.classification.severity.startswith("critical"):
            return  # the alert pipeline sends the safety message on the patient's best channel
        self._reply(record, "sms_reading_received", at, inbound_id, guidance=reading.classification.guidance)

    def _on_bad_reading(
        self, record: dict[str, Any], command: Command, body: str, inbound_id: str, at: datetime
    ) -> None:
        self._reply(record, "sms_not_understood", at, inbound_id)

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

    def _set_sms_consent(self, record: dict[str, Any], granted: bool, at: datetime) -> None:
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
        # The timeline's consent_changed event follows from the table stream, as for every consent write.

    def _reply(
        self,
        record: dict[str, Any],
        template: str,
        at: datetime,
        inbound_id: str,
        ignore_opt_out: bool = False,
        **params: Any,
    ) -> None:
        pid = record["patient_id"]
        consent = record["sms_consent"]
        if consent.get("opted_out") and not ignore_opt_out:
            return
        if consent.get("full_content") and consent.get("granted") and f"{template}_full" in TEMPLATES:
            template = f"{template}_full"
        message = render(template, record.get("language", "en"), {**self._clinic, **params})
        try:
            self._sms.send(record["phone"], message)
        except SendError as error:
            self._store.put_event(
                pid,
                "delivery_failed",
                at,
                f"reply-{inbound_id}-{template}",
                f"sms reply failed ({error.code})",
                "sms",
                {"template": template},
            )
            return
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
