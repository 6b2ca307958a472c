"""The table's stream: what follows from a write, outside the request path.

- a new reading: its writer goes to the audit trail (ingestion stays one
  write), it joins its local day's bucket (trends), from a device the
  month's device days (RPM billing), and, measured in the last 15 local days,
  the patient's recent readings (the worklist's triage); its alert is opened or joined, the
  patient's last-reading time moves, and the channel that prompted it is
  credited with an answer;
- a consent write: a ``consent_changed`` event in the patient timeline;
- a new targets version: a ``targets_changed`` event; a new time zone: every
  reminder rescheduled in it;
- a new reading also completes a measurement dose due within 2 hours;
- a clinician profile: their 08:00 digest is (re)scheduled in their time zone.

Records are processed one by one with Powertools' batch processor and failures
are reported per record; every step is idempotent, so a redelivered batch
changes nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import deserialize
from chalicelib.adapters.recent import is_marked, is_recent
from chalicelib.domain.billing import counts_as_device_day
from chalicelib.domain.meters import registered
from chalicelib.domain.timeutil import parse_iso
from chalicelib.domain.trends import bucket_value, local_day
from chalicelib.domain.triage import record_for
from chalicelib.observability import count, log_unexpected

if TYPE_CHECKING:
    from chalicelib.adapters.messaging import DynamoMessagingStore
    from chalicelib.adapters.stores import DynamoAuditLog, DynamoPatientStore
    from chalicelib.adapters.summaries import DynamoSummaryStore
    from chalicelib.services.alerts import AlertService
    from chalicelib.services.messaging import MessagingService
    from chalicelib.services.reminders import ReminderService


def reading_audit_entry(image: dict[str, Any]) -> dict[str, Any]:
    return {
        "actor": image["created_by"],
        "role": image["created_role"],
        "action": "create",
        "resource": "reading",
        "patient_id": image["patient_id"],
        "at": image["received_at"],
        "request_id": image.get("request_id") or "-",
        # Deterministic: a redelivered stream record maps to the same audit key.
        "seq": f"reading-{image['reading_id']}",
        "detail": {"reading_id": image["reading_id"]},
    }


class ChangeHandler:
    def __init__(
        self,
        audit_log: DynamoAuditLog,
        alerts: AlertService,
        events: DynamoMessagingStore,
        messaging: MessagingService,
        patients: DynamoPatientStore,
        reminders: ReminderService,
        summaries: DynamoSummaryStore,
    ) -> None:
        self._summaries = summaries
        self._reminders = reminders
        self._audit_log = audit_log
        self._alerts = alerts
        self._events = events
        self._messaging = messaging
        self._patients = patients

    def handle_record(self, record: dict[str, Any]) -> None:
        name = record.get("eventName")
        if name not in ("INSERT", "MODIFY"):
            return
        new = deserialize(record["dynamodb"].get("NewImage", {}))
        old = deserialize(record["dynamodb"].get("OldImage", {}))
        entity = new.get("entity")
        if entity == "reading" and name == "INSERT":
            self._reading(new)
        elif entity == "consent" and (old.get("granted"), old.get("opted_out")) != (
            new.get("granted"),
            new.get("opted_out"),
        ):
            self._consent(new)
        elif entity == "patient" and name == "MODIFY":
            self._patient(new, old)
        elif entity == "clinician" and (name == "INSERT" or old.get("timezone") != new.get("timezone")):
            self._alerts.schedule_digest(new["clinician_id"], new.get("timezone", "UTC"), parse_iso(new["updated_at"]))

    def _patient(self, new: dict[str, Any], old: dict[str, Any]) -> None:
        if new.get("timezone") != old.get("timezone"):
            self._reminders.timezone_changed(new["patient_id"], new["timezone"])
        if new.get("targets_version", 0) != old.get("targets_version", 0):
            self._events.put_event(
                new["patient_id"],
                "targets_changed",
                parse_iso(new["targets_updated_at"]),
                f"targets-{new['targets_version']}",
                f"targets set by {new.get('targets_updated_by')}",
                None,
                {"version": new["targets_version"]},
            )

    def _reading(self, image: dict[str, Any]) -> None:
        pid = image["patient_id"]
        at: datetime = parse_iso(image["received_at"])
        # The profile, read with the touch: for the local day, the alert rules and the channel credit.
        record = self._patients.touch_last_reading(pid, image["measured_at"])
        # The audit record, the timeline entry and the reading's place in its local day (and its month's
        # device days) in one request: a transaction, as the audit table takes conditional puts only.  All
        # keys derive from the reading, so a redelivery finds the audit record written and adds nothing.
        event = self._events.event_item(
            pid,
            "reading",
            at,
            f"reading-{image['reading_id']}",
            _reading_summary(image),
            image.get("source"),
            {"reading_id": image["reading_id"]},
        )
        counted: list[dict[str, Any]] = []
        essential: list[dict[str, Any]] = []
        received = ""  # the reading's local day of receipt, in the patient's zone
        if record is not None:
            zone = record.get("timezone") or "UTC"
            day = local_day(parse_iso(image["measured_at"]), zone)
            # RPM device days: a timely reading from a meter registered to the patient (docs/api.md).
            device_day = counts_as_device_day(image) and registered(record, image.get("device_id"), image["type"], day)
            essential = self._summaries.reading_ops(
                pid, image["type"], day, image["reading_id"], bucket_value(image), device_day
            )
            received = local_day(at, zone)
            recent = recent_record(image, day, received)
            # A device day of the last 31 is marked on the RECENT item too (the worklist's 30-day count).
            marked = device_day and is_marked(day, received)
            counted = (
                self._summaries.reading_ops(
                    pid,
                    image["type"],
                    day,
                    image["reading_id"],
                    bucket_value(image),
                    device_day,
                    recent=recent,
                    marked=marked,
                    received_day=received,
                )
                if recent is not None or marked
                else essential
            )
        audit_entry, timeline_put = reading_audit_entry(image), self._events.table.put_op(event)
        try:
            written = self._audit_log.append_once(audit_entry, timeline_put, *counted)
        except ClientError as error:
            if counted is essential or not _refused_as_invalid(error):
                raise
            # The worklist's RECENT item could not take the reading (over DynamoDB's 400 KB item limit: a
            # device sending every minute).  Triage is bookkeeping: the reading's audit record, counts and
            # alert must never wait on it, so the transaction goes again without it (hazard log C18.3).
            count("RecentReadingsRefused")
            counted = essential
            written = self._audit_log.append_once(audit_entry, timeline_put, *counted)
            self._summaries.forget_device_marks(pid, received)  # a device day may be unmarked from now on
        if counted and not written:
            # A redelivery: the counts are idempotent (an attribute per reading, a set of days) and written
            # again, so a record first delivered before they rode along (across a deploy) is still counted.
            try:
                self._events.table.transact(counted)
            except ClientError as error:
                if counted is essential or not _refused_as_invalid(error):
                    raise
                count("RecentReadingsRefused")
                self._events.table.transact(essential)
                self._summaries.forget_device_marks(pid, received)
        if record is None:
            return
        self._alerts.on_reading(image, record)
        self._alerts.note_for_digest(image, record)
        if record.get("measurement_plan"):  # only patients with a measurement reminder have doses and a watch
            self._reminders.reading_arrived(image)
        if image.get("source") != "sms":  # an SMS reading was credited when the text arrived
            self._messaging.record_response(pid, at, record)

    def _consent(self, image: dict[str, Any]) -> None:
        granted = "granted" if image.get("granted") else "withdrawn"
        if image.get("opted_out"):
            granted = "opted out"
        at = parse_iso(image["updated_at"])
        self._events.put_event(
            image.get("patient_id") or image["pk"].split("#", 1)[1],
            "consent_changed",
            at,
            f"consent-{image['channel']}-{image['updated_at']}",
            f"{image['channel']} consent {granted} ({image.get('source')})",
            image["channel"],
            {"channel": image["channel"], "granted": bool(image.get("granted"))},
        )

    def handle_batch(self, event: dict[str, Any]) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        processor = BatchProcessor(event_type=EventType.DynamoDBStreams, raise_on_entire_batch_failure=False)

        def one(record: Any) -> None:
            try:
                self.handle_record(record.raw_event)
            except Exception as error:
                log_unexpected(error, "stream record")  # reported as a partial failure and retried
                raise

        response: dict[str, Any] = process_partial_response(event=event, record_handler=one, processor=processor)
        return response


def _refused_as_invalid(error: ClientError) -> bool:
    """A transaction DynamoDB refused because an item would grow past 400 KB, not for a condition, a conflict
    or a malformed request (botocore does not check our requests: a mistake there must fail loudly)."""
    top = error.response.get("Error", {})
    if top.get("Code") == "ValidationException" and _item_too_large(top.get("Message")):
        return True
    # A cancelled transaction names it per item: "ValidationError" ("Item size to update has exceeded...").
    reasons = error.response.get("CancellationReasons") or []
    return any(
        reason.get("Code") in ("ValidationError", "ValidationException") and _item_too_large(reason.get("Message"))
        for reason in reasons
    )


def _item_too_large(message: Any) -> bool:
    return "maximum allowed size" in str(message or "").lower()


def recent_record(image: dict[str, Any], day: str, received_day: str) -> str | None:
    """The reading's record for the patient's RECENT item, or None when it stays out of it.

    Out: a reading measured more than 15 local days before the local day it was received (a device
    syncing its history).  Judged by the reading's own receipt time, not the moment the stream runs,
    so every redelivery of the record decides the same.  A value no record can hold (none passes the
    API's validation) leaves the reading out of triage rather than failing its whole record.
    """
    if not is_recent(day, received_day):
        return None
    try:
        return record_for(image, day)
    except (KeyError, TypeError, ValueError):
        return None


def _reading_summary(image: dict[str, Any]) -> str:
    """E.g. "Glucose 48 mg/dL fasting — critical low (device meter-9)"; values belong in the record."""
    severity = image["classification"]["severity"].replace("_", " ")
    origin = image.get("source", "app") + (f" {image['device_id']}" if image.get("device_id") else "")
    if image["type"] == "blood_glucose":
        value = (
            f"meter {image['meter_flag']}" if image.get("meter_flag") else f"{image.get('value')} {image.get('unit')}"
        )
        context = str(image.get("context", "random")).replace("_", " ")
        return f"Glucose {value} {context} — {severity} ({origin})"
    pulse = f", pulse {image['pulse']}" if image.get("pulse") is not None else ""
    category = str(image["classification"].get("category", "")).replace("_", " ")
    return f"BP {image['systolic']}/{image['diastolic']} mmHg{pulse} — {severity}, {category} ({origin})"
