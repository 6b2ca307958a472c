"""The ports services share: storage, people, the timeline, the outbox, the audit, messaging.

Services import these ``Protocol``s (and declare beside themselves the ports
only they use, such as ``ReminderStore`` in ``services/reminders.py``), never
an adapter: the DynamoDB repositories satisfy them structurally (mypy checks
that where ``bootstrap.py`` wires them), and ``tests/fakes/`` holds faithful
in-memory fakes of each, so the services are tested in milliseconds.
Every key format (partition and sort keys, the due index, list entries,
reference items) stays behind the adapters: a port speaks ids, times and the
records the service reasons about.

A *record* here is a plain dict of an aggregate's fields as stored (an
alert's ``alert_id``, ``status``, ``priority``, ``reading_ids``...): the
shape ``chalicelib.domain.alerts.Alert`` validates for the API.  A record a
port hands out may carry storage attributes too; callers ignore them and hand
the record back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from chalicelib.domain.identity import Principal
from chalicelib.domain.messages import Intent, Rendered
from chalicelib.domain.readings import Reading

Record = dict[str, Any]


@dataclass(frozen=True)
class TimelineEntry:
    """An event for the patient's timeline, written together with the change that caused it."""

    patient_id: str
    kind: str
    at: datetime
    event_id: str
    summary: str
    channel: str | None = None
    ref: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class OpenSlot:
    """Who holds one of a patient's open-alert slots (a condition, or a trend's kind)."""

    alert_id: str
    priority: str
    # When the story the alert tells began: the opening reading's measured time.
    since: str = ""


class Page(Protocol):
    """One page of a list, and where the next one starts (None: the list is done; opaque, JSON-safe)."""

    @property
    def items(self) -> list[Record]: ...

    @property
    def last_key(self) -> Any: ...


class AlertStore(Protocol):
    """Alerts, one open per patient and slot (condition or kind), with their list entries and digests.

    Every write that can race is conditional and says what it does when it loses:
    a method answers False (or the winner) rather than raising, except
    ``transition``, which raises ``ConflictError`` when the alert changed since it was read.
    """

    def open(
        self,
        alert: Record,
        care_team: list[str],
        escalate_at: datetime | None,
        event: TimelineEntry,
        reading_id: str | None = None,
    ) -> OpenSlot | None:
        """Open ``alert`` with its timeline event if its slot is free: None; else the slot's holder.

        With ``escalate_at`` the alert is due for escalation then.  Its list entries
        go to ``care_team`` and the admins.  With ``reading_id`` (the stored reading
        that opens it), the reading's ``alert_id`` names the alert, in the same write,
        unless it names one already (a reading that is not stored is left alone).
        """
        ...

    def open_slots(self, patient_id: str) -> dict[str, OpenSlot]:
        """The patient's open (or acknowledged) alerts by slot: slot name -> holder."""
        ...

    def join_many(
        self,
        patient_id: str,
        events: dict[str, TimelineEntry],
        reading_id: str,
        at: str,
        stored_reading: bool = False,
    ) -> set[str]:
        """Count ``reading_id`` on each alert named in ``events`` (writing its event); the alerts it was counted on.

        An alert that already counted the reading, is resolved, or does not exist is left out.
        With ``stored_reading`` the reading's ``alert_id`` names the first alert (in ``events``
        order) it is counted on now, in the same write, unless it names one already.
        """
        ...

    def get(self, patient_id: str, alert_id: str) -> Record | None: ...

    def upgrade(self, alert: Record, kind: str, priority: str, escalate_at: datetime) -> bool:
        """Make a routine alert critical and open again, due for escalation; False if it is not routine."""
        ...

    def repage(self, alert: Record, now: datetime, cutoff: datetime, escalate_at: datetime) -> bool:
        """Page again (reopening; escalation restarts at 0) if still as read and last paged by ``cutoff``."""
        ...

    def escalate(self, alert: Record, level: int, next_due: datetime | None, unanswered: bool) -> bool:
        """Raise an open alert from ``level - 1`` for the due time it carries; False if anyone acted first."""
        ...

    def transition(
        self, alert: Record, changes: Record, note: Record | None, care_team: list[str] | None = None
    ) -> Record:
        """Apply ``changes`` (a new status and who/when) if the status is still the one read; the alert after.

        Leaves the due index; a resolved alert frees its slot.  ``care_team`` is the
        patient's current team, whose members get the list entries.
        """
        ...

    def claim_safety_message(
        self, patient_id: str, condition: str, reading_id: str, at: datetime, cutoff: datetime
    ) -> str | None:
        """The reading that holds the right to the safety message for ``condition`` (a newer one after ``cutoff``)."""
        ...

    def patient_of(self, alert_id: str) -> str | None:
        """The patient of an opaque alert id."""
        ...

    def of_patient(self, patient_id: str, statuses: tuple[str, ...] = ()) -> list[Record]:
        """Every alert of the patient (any status), or only those in ``statuses`` when given."""
        ...

    def many(self, keys: list[tuple[str, str]]) -> list[Record]:
        """The alerts found for ``(patient_id, alert_id)`` pairs, in no particular order."""
        ...

    def list_page(
        self, clinician_id: str | None, status: str, limit: int, start_key: Any, priority: str | None
    ) -> Page:
        """A clinician's list (None: the admins' list of every alert) in one status: critical first, then newest.

        Its items are list entries (``alert_id``, ``patient_id``, ``priority``,
        ``status``, ``opened_at``, ``kind``, ``unanswered``), not whole alerts.
        """
        ...

    def clinician_entries(self, clinician_id: str, status: str) -> list[Record]:
        """Every list entry of the clinician in ``status``, in list order."""
        ...

    def schedule_digest(self, clinician_id: str, timezone: str, last_digest_at: datetime, due_at: datetime) -> None:
        """(Re)start the clinician's daily digest: due at ``due_at``, counting from ``last_digest_at``."""
        ...

    def note_stage1(self, clinician_id: str, reading_id: str) -> None:
        """Count a stage 1 BP reading in the clinician's next digest (once per reading; none without a digest)."""
        ...

    def advance_digest(self, digest: Record, new_due: datetime, now: datetime) -> bool:
        """Move a due digest to ``new_due``, removing the stage 1 readings it counted; False if another tick did."""
        ...


class AlertReadings(Protocol):
    """What the trend rules read of a patient's readings (stored reading records)."""

    def glucose_between(self, patient_id: str, start: str, end: str) -> list[Record]:
        """Glucose readings measured in [start, end] (UTC ISO strings), oldest first."""
        ...

    def page(self, patient_id: str, reading_type: str, start: str, end: str, limit: int, start_key: Any) -> Page:
        """Readings of one type measured in [start, end], newest first."""
        ...


class Patients(Protocol):
    """Patient records (``care_team``, ``timezone``, contact preferences...)."""

    def get(self, patient_id: str) -> Record | None: ...

    def many(self, patient_ids: list[str]) -> dict[str, Record]: ...


class Clinicians(Protocol):
    """Clinician profiles (``phone``, ``email``, ``escalation_contacts``) and the clinic's on-call list."""

    def many(self, clinician_ids: list[str]) -> dict[str, Record]: ...

    def on_call(self) -> Record | None:
        """The on-call record: ``clinician_ids`` in paging order."""
        ...


class Timeline(Protocol):
    """The patient's timeline: an event is written once per ``event_id`` (a repeat overwrites it)."""

    def put_event(
        self,
        patient_id: str,
        kind: str,
        at: datetime,
        event_id: str,
        summary: str,
        channel: str | None = None,
        ref: dict[str, Any] | None = None,
    ) -> None: ...


class Outbox(Protocol):
    """Message intents leave here for delivery (deduplicated by ``intent_id`` downstream)."""

    def enqueue(self, *intents: Intent) -> None: ...


class Audit(Protocol):
    """Who touched which patient's data."""

    def record(
        self,
        principal: Principal,
        action: str,
        resource: str,
        patient_id: str | None,
        detail: dict[str, Any] | None = None,
    ) -> None: ...


class ListAudit(Audit, Protocol):
    """Who saw which patients on a list page: one record per patient shown, written in batches."""

    def record_many(
        self, principal: Principal, action: str, resource: str, patients: list[tuple[str, dict[str, Any] | None]]
    ) -> None: ...


class PatientAccess(Protocol):
    """Where every read of one patient's data starts: the record, if the principal may see it.

    A patient sees only themselves, a clinician their panel, an admin everyone; anyone else gets
    ``NotFoundError`` (a 404 that does not say whether the patient exists).
    """

    def visible_record(self, principal: Principal, patient_id: str) -> Record: ...


class PatientDirectory(Protocol):
    """Pages of patient records, the whole clinic's or one clinician's panel; the page key is opaque."""

    def page_all(self, limit: int, start_key: Any) -> tuple[list[Record], Any]: ...

    def page_panel(self, clinician_id: str, limit: int, start_key: Any) -> tuple[list[Record], Any]: ...


# -- messaging and inbound SMS ---------------------------------------------------------
# The messaging store is one DynamoDB repository, split here by the role each service needs of it.


class Channel(Protocol):
    """One way a message leaves (push, sms, email, voice): a provider id, or ``SendError``."""

    name: str

    def send(self, address: str, message: Rendered) -> str: ...


@dataclass(frozen=True)
class DailySlot:
    """One of a patient's ``cap`` sends on a local day (the trust rules' daily cap), for one intent."""

    patient_id: str
    day: str
    cap: int
    expires: int  # epoch seconds: when the day's counter may go


@dataclass(frozen=True)
class Sent:
    """A delivery that went out: the claim settled 'sent' with ``detail``, and what follows from it.

    ``counted``: the patient and channel whose send count (the adaptive channel choice) grows;
    ``message``: the conversation message now 'sent' on ``channel``; ``event``: the timeline entry.
    """

    intent_id: str
    detail: dict[str, Any]
    event: TimelineEntry | None = None
    counted: tuple[str, str, datetime] | None = None  # patient_id, channel, at
    message: tuple[str, str, str, str] | None = None  # patient_id, message_at, message_id, channel
    receipt: Receipt | None = None


@dataclass(frozen=True)
class Receipt:
    """A message a provider accepted, kept by the provider's id until its events say what became of it.

    ``intent`` is the intent as JSON (sent again on ``fallback``, the channels to try next, if this one
    fails); ``event``: where the send's ``message_out`` timeline entry is (``at``, ``event_id``), whose
    delivery status follows the provider's events; ``message``: the conversation message (``at``, id).
    """

    channel: str
    provider_id: str
    to: str
    recipient_kind: str
    recipient_id: str
    intent: str
    sent_at: datetime
    fallback: tuple[str, ...] = ()
    patient_id: str | None = None
    event: tuple[str, str] | None = None
    message: tuple[str, str] | None = None


@dataclass(frozen=True)
class Mark:
    """An address that cannot be used again until it changes: a patient's or a clinician's, on one channel."""

    recipient_kind: str
    recipient_id: str
    channel: str
    address: str
    since: str
    reason: str


class Receipts(Protocol):
    """Sent messages by provider id, and what their providers' events change (docs/design.md "Delivery truth")."""

    def receipt(self, channel: str, provider_id: str) -> Record | None:
        """The sent message (``status``, ``intent``, ``fallback``...), read consistently; None: not ours or expired."""
        ...

    def settle_receipt(
        self, receipt: Record, status: str, at: datetime, reason: str, mark: Mark | None, entry: TimelineEntry | None
    ) -> bool:
        """Raise the message's status to ``status`` if it ranks higher, with all that follows, at once.

        The conversation message and the ``message_out`` timeline entry take the status too; ``mark``
        marks the address unreachable; ``entry`` goes on the timeline.  False (nothing written) when the
        message already has this status or a higher one: an event handled twice changes nothing twice.
        """
        ...

    def remove_devices(self, patient_id: str, endpoint: str) -> int:
        """Forget the patient's push devices on ``endpoint`` (disabled by the platform); how many went."""
        ...


class DeliveryClaims(Protocol):
    """Once-only delivery of an intent, and messages held back by quiet hours."""

    def claim(self, intent_id: str, now: datetime, lease: timedelta, safety: bool) -> str:
        """'claimed' when this delivery may send, else the state that stops it ('sent', 'busy', 'uncertain', ...)."""
        ...

    def claim_with_slot(self, intent_id: str, now: datetime, lease: timedelta, slot: DailySlot) -> tuple[str, bool]:
        """``claim`` and, when claimed, ``take_daily_slot``: the claim's answer and whether the slot is held.

        A routine message to a patient asks for both at once (one request when both succeed).
        """
        ...

    def settle(self, intent_id: str, status: str, detail: dict[str, Any] | None = None) -> None: ...

    def record_sent(self, sent: Sent) -> None:
        """Everything a message that went out changes, written together (one request on the way that matters)."""
        ...

    def defer(self, intent: Intent, due_at: datetime) -> None: ...

    def take_deferred(self, item: Record) -> Intent | None:
        """The deferred intent to whoever wins its release (once), else None."""
        ...


class SendCounters(Protocol):
    """The daily cap per patient and local day (once per intent), and per-channel send and answer counts."""

    def take_daily_slot(self, patient_id: str, day: str, intent_id: str, cap: int, expires: int) -> bool: ...

    def hold(self, patient_id: str, day: str, intent_id: str, expires: int) -> bool:
        """Count a held message (once per intent); True for the day's first hold."""
        ...

    def count_send(self, patient_id: str, channel: str, at: datetime) -> None: ...

    def count_answer(self, patient_id: str, channel: str, at: datetime, since: str) -> None: ...


class ContactItems(Protocol):
    """A patient's consents and devices, and who shares a phone number."""

    def contact_items(self, patient_id: str) -> list[Record]: ...

    def patients_by_phone(self, phone: str) -> list[str]: ...


class Tasks(Protocol):
    """Tasks for the care team, created once per ``task_id``."""

    def put_task(self, patient_id: str, task: Record) -> bool:
        """Create the task; False when it already exists."""
        ...


class Conversation(Protocol):
    """A message's status in the patient's conversation."""

    def update_message(self, patient_id: str, at: str, message_id: str, status: str, channel: str | None) -> None: ...


class MessagingStore(DeliveryClaims, SendCounters, ContactItems, Tasks, Conversation, Timeline, Protocol):
    """Everything delivery needs of storage (``DynamoMessagingStore``)."""


class InboundStore(ContactItems, Timeline, Protocol):
    """What an inbound text needs of the messaging store."""

    def count_send(self, patient_id: str, channel: str, at: datetime) -> None: ...


class MessagingPatients(Patients, Protocol):
    """Patient profiles as delivery reads them, and their open-task counter."""

    def add_open_tasks(self, patient_id: str, delta: int) -> None: ...


class Appointments(Protocol):
    """One appointment as it stands (delivery checks a held notice against it)."""

    def get(self, patient_id: str, appointment_id: str) -> Record | None: ...


class ConsentPatients(Patients, Protocol):
    """Patient profiles, and the consents an inbound STOP or START writes."""

    def put_consent(self, patient_id: str, consent: Record) -> None: ...


class ClinicianProfiles(Protocol):
    """A clinician's profile (contact details, channels, language)."""

    def get(self, clinician_id: str) -> Record | None: ...


class OutboundQueue(Protocol):
    """The outbound queue delivery reads from (``SqsOutbound``)."""

    def enqueue(self, intents: list[Intent]) -> None: ...


class RecordedReading(Protocol):
    """What recording a reading answered: the stored reading, or None (refused)."""

    @property
    def reading(self) -> Reading | None: ...


class ReadingRecorder(Protocol):
    """Recording a reading as its writer (``ReadingService``): validated, classified, stored once per id."""

    def record(self, principal: Principal, patient_id: str, payload: Any) -> RecordedReading: ...


class InboundConversation(Protocol):
    """A patient's text, kept in their conversation (``ConversationService``)."""

    def record_inbound(self, patient_id: str, channel: str, text: str, at: datetime, inbound_id: str) -> Record: ...
