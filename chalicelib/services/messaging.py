"""The messaging engine: every message to a person leaves through here.

Producers call :meth:`MessagingService.enqueue`; the outbound queue's handler
calls :meth:`deliver` once per intent.  Delivery claims the intent (so an SQS
redelivery never sends twice), resolves the recipient, asks routing for the
channels and the moment, renders the template in the recipient's language,
and tries each channel in turn: a permanent failure falls back to the next,
a transient one is retried by the queue.  When nothing reaches a patient, a
human gets a task to call them.  Every attempt lands in the patient timeline.

Sending is bounded (docs/api.md "Trust rules", security review F3): SMS and voice go
only to the clinic's country calling codes, and a patient gets at most
``DAILY_CAP`` non-safety messages a local day; the rest are *held* (not sent,
shown on the worklist).  A contact-verification code goes only to the pending
address it names, at once: no consent (the person just asked for it) and no
quiet hours, but within the cap and the allowed countries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from chalicelib.domain.appointments import NOTICES, notice_still_true
from chalicelib.domain.contacts import FIELD_OF, PHONE_CHANNELS, allowed_destination
from chalicelib.domain.delivery import SendError, unreachable
from chalicelib.domain.episodes import CLOSING, NO_CALL_TASK, SENT_WHILE_QUIET, closing_still_true
from chalicelib.domain.episodes import quiet as episode_quiet
from chalicelib.domain.events import PatientUnreachable, Publish
from chalicelib.domain.messages import Intent
from chalicelib.domain.routing import ChannelState, plan
from chalicelib.domain.templates import TEMPLATES, fields_of, render
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.observability import count, logger, opaque
from chalicelib.services.ports import (
    Appointments,
    Channel,
    ClinicianProfiles,
    DailySlot,
    MessagingPatients,
    MessagingStore,
    OutboundQueue,
    Receipt,
    Sent,
    TimelineEntry,
)

# Shorter than the outbound queue's visibility timeout, so a crashed delivery's
# claim has lapsed by the time SQS hands the message out again.
CLAIM_LEASE = timedelta(seconds=50)
ANSWER_WINDOW = timedelta(hours=2)
# A reminder delivered later than this after its due time says a dose was scheduled, not "take it now".
LATE_REMINDER = timedelta(minutes=60)
# Channels that wake a person; email is only ever in addition (docs/clinical.md "Safety net" rule 5).
REALTIME = frozenset({"push", "sms", "voice"})
# Non-safety messages a patient may get a local day (F3); safety messages are exempt (the alert
# engine already sends at most one per condition per 15 minutes).
DAILY_CAP = 20
# The day's counter outlives the day in every zone, then expires.
DAILY_COUNTER_TTL = timedelta(days=2)


class TransientDeliveryError(Exception):
    """Every remaining channel failed transiently: let the queue retry the intent."""


@dataclass
class Contact:
    """Where a recipient can be reached, and what they agreed to."""

    language: str
    timezone: str
    preference: list[str]
    addresses: dict[str, str]
    states: dict[str, ChannelState]
    full_content: set[str]
    quiet_hours: tuple[str, str] | None
    first_name: str | None
    # The patient's episode is paused or discharged: only safety messages and the few SENT_WHILE_QUIET go.
    monitoring_quiet: bool = False
    # The profile's summary of the current episode (a closing message goes only for the one discharged).
    episode: dict[str, Any] | None = None


class MessagingService:
    def __init__(
        self,
        store: MessagingStore,
        patients: MessagingPatients,
        clinicians: ClinicianProfiles,
        outbound: OutboundQueue,
        channels: dict[str, Channel],
        clock: Callable[[], datetime],
        clinic: dict[str, str],
        publish: Publish,
        sms_countries: tuple[str, ...] = ("+1",),
        daily_cap: int = DAILY_CAP,
        appointments: Appointments | None = None,
    ) -> None:
        self._store = store
        self._patients = patients
        self._clinicians = clinicians
        self._outbound = outbound
        self._channels = channels
        self._clock = clock
        self._clinic = clinic
        self._sms_countries = sms_countries
        self._daily_cap = daily_cap
        self._publish = publish
        self._appointments = appointments

    # -- producers -----------------------------------------------------------------

    def enqueue(self, *intents: Intent) -> None:
        if intents:
            self._outbound.enqueue(list(intents))

    def release_deferred(self, item: dict[str, Any], now: datetime) -> None:
        """The tick: a message held back by quiet hours is due; whoever wins its release sends it."""
        intent = self._store.take_deferred(item)
        if intent is not None:
            self.enqueue(intent)

    # -- delivery --------------------------------------------------------------------

    def deliver(self, intent: Intent) -> str:
        """Deliver one intent; returns the outcome ('sent', 'deferred', 'failed', 'duplicate', ...)."""
        now = self._clock()
        safety = intent.priority == "safety"
        # The recipient is read before the claim, so that a routine message's claim and its slot of
        # the patient's day are one request; a duplicate delivery pays for the read and sends nothing.
        contact = self._contact(intent)
        route = None
        if contact is not None:
            allowed = set(intent.only_channels) if intent.only_channels is not None else None
            route = plan(
                contact.preference, contact.states, safety, now, contact.timezone, contact.quiet_hours, allowed
            )
        if contact is not None and not safety and intent.recipient.kind == "patient":
            if contact.monitoring_quiet and intent.template not in SENT_WHILE_QUIET:
                return self._skip(intent, now, "monitoring paused or discharged", "MessagesSkippedMonitoringQuiet")
            stale = self._no_longer_true(intent, contact)
            if stale is not None:
                return self._skip(intent, now, stale, "MessagesSkippedStale")
        capped = not safety and intent.recipient.kind == "patient"
        slot = None
        if capped and contact is not None and route is not None and route.deliver_at is None and route.channels:
            day = now.astimezone(ZoneInfo(contact.timezone)).date().isoformat()
            expires = int((now + DAILY_COUNTER_TTL).timestamp())
            slot = DailySlot(intent.recipient.id, day, self._daily_cap, expires)
        if slot is not None:
            claim, has_slot = self._store.claim_with_slot(intent.intent_id, now, CLAIM_LEASE, slot)
        else:
            claim, has_slot = self._store.claim(intent.intent_id, now, CLAIM_LEASE, safety), True
        if claim == "busy":
            raise TransientDeliveryError("another delivery of this intent is in progress")
        if claim == "uncertain":
            # A crash after claiming: the message may or may not have gone. Routine
            # messages are sent at most once; safety messages were re-sent above.
            self._store.settle(intent.intent_id, "uncertain")
            self._event(intent, "delivery_failed", now, None, "delivery outcome unknown after a crash; not re-sent")
            return "uncertain"
        if claim != "claimed":
            count("DuplicateDeliveriesSkipped")
            return "duplicate"

        if contact is None or route is None:
            # Unknown, or a verification code whose pending address was replaced or verified meanwhile.
            self._store.settle(intent.intent_id, "failed", {"reason": "unknown recipient"})
            return "failed"
        if route.deliver_at is not None:
            self._store.defer(intent, route.deliver_at)
            self._store.settle(intent.intent_id, "deferred", {"until": iso(route.deliver_at)})
            count("MessagesDeferred")
            return "deferred"
        for reason in route.reasons:
            self._event(intent, "note", now, None, f"channel choice: {reason}")
        if slot is not None and not has_slot:
            self._hold(intent, slot, now)
            return "held"

        # Rule 5: a clinician's page goes out on every reachable channel (a real-time one to wake
        # them, email in addition), not only on the first that accepts it.
        broadcast = safety and intent.recipient.kind == "clinician"
        transient = False
        delivered: list[str] = []
        for index, channel in enumerate(route.channels):
            adapter = self._channels.get(channel)
            if adapter is None:
                continue
            if channel in PHONE_CHANNELS and not self.may_dial(contact.addresses[channel]):
                # Defence in depth: the API refuses such numbers, but one stored before the allow-list is not dialled.
                count("MessagesRefusedByCountry")
                self._event(intent, "delivery_failed", now, channel, f"{channel} refused: country not allowed")
                continue
            message = self._render(intent, contact, channel, now)
            try:
                provider_id = adapter.send(contact.addresses[channel], message)
            except SendError as error:
                transient = transient or error.transient
                count("DeliveryFailures")
                self._event(intent, "delivery_failed", now, channel, f"{channel} failed ({error.code})")
                continue
            if broadcast:
                # A page's email is in addition; a waking channel that fails later is retried on the others.
                others = tuple(c for c in route.channels if c in REALTIME and c != channel)
                fallback = others if channel in REALTIME else ()
            else:
                fallback = route.channels[index + 1 :]
            receipt = (channel, provider_id, contact.addresses[channel], fallback)
            self._sent(intent, now, receipt)
            delivered.append(channel)
            if not broadcast:
                return "sent"
        if delivered:
            if not set(delivered) & REALTIME:
                # Email alone wakes nobody: the worklist shows the clinician as a configuration error.
                count("PagesWithoutRealTimeChannel")
                logger().error("page reached no real-time channel", extra={"clinician_id": intent.recipient.id})
            return "sent"

        if transient:
            self._store.settle(intent.intent_id, "retry")
            raise TransientDeliveryError("channels failed transiently")
        self._store.settle(intent.intent_id, "failed", {"tried": list(route.channels)})
        if intent.verify_address is None:  # a code that did not arrive is asked for again, not a call task
            self._unreachable(intent, now, route.channels)
        return "failed"

    def may_dial(self, phone: str) -> bool:
        """Whether SMS or voice may go to ``phone`` (the clinic's country calling codes)."""
        return allowed_destination(phone, self._sms_countries)

    def _no_longer_true(self, intent: Intent, contact: Contact) -> str | None:
        """Why a message queued or held back (quiet hours, a retry) would now say something false, if it would.

        The closing message goes only if the discharge landed and no re-enrolment followed; an appointment
        notice only if the appointment still is what it says (one GetItem, for those notices only).
        """
        if intent.template == CLOSING and not closing_still_true(contact.episode, intent.params.get("episode_id")):
            return "the discharge did not land, or a new episode began"
        if self._appointments is not None and intent.template in NOTICES and "appointment_id" in intent.params:
            appointment = self._appointments.get(intent.recipient.id, intent.params["appointment_id"])
            if not notice_still_true(intent.template, intent.params, appointment):
                return "the appointment changed since"
        return None

    def _skip(self, intent: Intent, now: datetime, reason: str, metric: str) -> str:
        """A routine message that should not go (monitoring quiet, no longer true) is settled 'skipped', not sent."""
        if self._store.claim(intent.intent_id, now, CLAIM_LEASE, False) != "claimed":
            return "duplicate"
        self._store.settle(intent.intent_id, "skipped", {"reason": reason})
        if intent.message_id and intent.params.get("message_at"):
            self._store.update_message(
                intent.recipient.id, intent.params["message_at"], intent.message_id, "skipped", None
            )
        self._event(intent, "delivery_failed", now, None, f"not sent: {reason}")
        count(metric)
        return "skipped"

    def _hold(self, intent: Intent, slot: DailySlot, now: datetime) -> None:
        """The patient's day is full: the intent is held (settled, in the timeline, counted)."""
        pid = intent.recipient.id
        if self._store.hold(pid, slot.day, intent.intent_id, slot.expires):
            count("RecipientDailyCapReached")
            # Patient ids may be clinic-chosen (an MRN): logged as an opaque digest (F16).
            logger().warning("recipient reached the daily cap", extra={"patient": opaque(pid), "cap": slot.cap})
        count("MessagesHeld")
        self._store.settle(intent.intent_id, "held", {"reason": "daily limit", "day": slot.day})
        if intent.message_id and intent.params.get("message_at"):
            self._store.update_message(pid, intent.params["message_at"], intent.message_id, "held", None)
        self._event(intent, "delivery_failed", now, None, "held: daily limit")

    def _sent(self, intent: Intent, now: datetime, sent: tuple[str, str, str, tuple[str, ...]]) -> None:
        """Record a send: ``sent`` is the channel, the provider's message id, the address and the fallback."""
        channel, provider_id, address, fallback = sent
        counted = message = None
        if intent.recipient.kind == "patient":
            pid = intent.recipient.id
            if intent.verify_address is None:  # a code to a new address says nothing about answering habits
                counted = (pid, channel, now)
            if intent.message_id and intent.params.get("message_at"):
                message = (pid, intent.params["message_at"], intent.message_id, channel)
            summary = f"{intent.template.replace('_', ' ').capitalize()} sent by {channel}"
        else:
            # The timeline says who was paged on which channel (rule 6).
            summary = f"{intent.template.replace('_', ' ').capitalize()} to {intent.recipient.id} sent by {channel}"
        detail = {"channel": channel, "provider_id": provider_id}
        event = self._entry(intent, "message_out", now, channel, summary)
        receipt = Receipt(
            channel,
            provider_id,
            address,
            intent.recipient.kind,
            intent.recipient.id,
            intent.model_dump_json(),
            now,
            fallback,
            patient_id=event.patient_id if event else None,
            event=(iso(event.at), event.event_id) if event else None,
            message=(message[1], message[2]) if message else None,
        )
        self._store.record_sent(Sent(intent.intent_id, detail, event, counted, message, receipt))
        count("MessagesSent")
        count(f"{channel.title()}Sent")

    def _unreachable(self, intent: Intent, now: datetime, tried: tuple[str, ...]) -> None:
        if intent.recipient.kind != "patient":
            # A clinician nobody can page is a configuration error the worklist shows.
            logger().error("clinician unreachable", extra={"clinician_id": intent.recipient.id})
            count("CliniciansUnreachable")
            return
        pid = intent.recipient.id
        if intent.message_id and intent.params.get("message_at"):
            self._store.update_message(pid, intent.params["message_at"], intent.message_id, "failed", None)
        if intent.template in NO_CALL_TASK:
            return  # a goodbye nobody received asks no one to call a discharged patient
        self.hand_to_human(pid, f"call-{intent.intent_id}", "no channel reached the patient", now, list(tried))

    def hand_to_human(
        self, patient_id: str, task_id: str, reason: str, now: datetime, tried: list[str] | None = None
    ) -> None:
        """A task on the worklist for a person to call the patient, and a routine unreachable_patient alert."""
        if self.create_task(patient_id, task_id, "call_patient", reason, now, tried):
            count("PatientsHandedToHumans")
            self._publish(PatientUnreachable(patient_id, task_id[:120], now))

    def create_task(
        self, patient_id: str, task_id: str, kind: str, reason: str, now: datetime, tried: list[str] | None = None
    ) -> bool:
        """A task for the care team (once per ``task_id``), counted on the profile and shown in the timeline."""
        task_id = task_id[:120]
        created = self._store.put_task(
            patient_id,
            {
                "task_id": task_id,
                "kind": kind,
                "status": "open",
                "reason": reason,
                "created_at": iso(now),
                "tried": tried or [],
            },
        )
        if not created:
            return False  # already created (a redelivery or a repeated tick)
        self._patients.add_open_tasks(patient_id, 1)
        self._store.put_event(
            patient_id, "task_created", now, task_id, f"{kind.replace('_', ' ')}: {reason}", None, {"task_id": task_id}
        )
        return True

    def _event(self, intent: Intent, kind: str, at: datetime, channel: str | None, summary: str) -> None:
        entry = self._entry(intent, kind, at, channel, summary)
        if entry is not None:
            self._store.put_event(
                entry.patient_id, entry.kind, entry.at, entry.event_id, entry.summary, entry.channel, entry.ref
            )

    @staticmethod
    def _entry(intent: Intent, kind: str, at: datetime, channel: str | None, summary: str) -> TimelineEntry | None:
        """The timeline entry of an attempt: on the patient's timeline (none for a page about nobody's patient)."""
        patient_id = intent.patient_id or (intent.recipient.id if intent.recipient.kind == "patient" else None)
        if patient_id is None:
            return None
        event_id = f"{intent.intent_id}:{kind}:{channel or '-'}:{intent.recipient.kind}:{intent.recipient.id}"
        ref: dict[str, Any] = {"intent_id": intent.intent_id, "template": intent.template}
        if intent.message_id:
            ref.update(message_id=intent.message_id, thread_id=intent.thread_id)
        return TimelineEntry(patient_id, kind, at, event_id, summary, channel, ref)

    # -- recipients ------------------------------------------------------------------

    def _contact(self, intent: Intent) -> Contact | None:
        if intent.recipient.kind == "clinician":
            return self._clinician_contact(intent.recipient.id)
        if intent.verify_address is not None:
            return self._pending_contact(intent)
        return self.patient_contact(intent.recipient.id)

    def _pending_contact(self, intent: Intent) -> Contact | None:
        """Only the pending address a verification code names, while it is still pending.

        Transactional and asked for by the person: no consent step and no quiet hours.
        """
        record = self._patients.get(intent.recipient.id)
        channel, address = (intent.only_channels or [""])[0], intent.verify_address
        field = FIELD_OF.get(channel)
        if record is None or field is None or address is None or record.get(f"{field}_pending") != address:
            return None
        return Contact(
            language=record.get("language", "en"),
            timezone=record.get("timezone", "UTC"),
            preference=[channel],
            addresses={channel: address},
            states={channel: ChannelState(has_address=True, consented=True)},
            full_content=set(),
            quiet_hours=None,
            first_name=record.get("given_name"),
        )

    def patient_contact(self, patient_id: str) -> Contact | None:
        record = self._patients.get(patient_id)
        if record is None or record.get("deidentifying_since"):
            return None  # unknown, or being de-identified (retention): nothing more goes to them
        consents: dict[str, dict[str, Any]] = {}
        devices: list[dict[str, Any]] = []
        stats: dict[str, Any] = record.get("channel_stats") or {}
        for item in self._store.contact_items(patient_id):
            if item["sk"].startswith("CONSENT#"):
                consents[item["channel"]] = item
            elif item["sk"].startswith("DEVICE#"):
                devices.append(item)
        addresses: dict[str, str] = {}
        if record.get("phone"):
            addresses["sms"] = record["phone"]
            if "voice" in self._channels:
                addresses["voice"] = record["phone"]
        if record.get("email"):
            addresses["email"] = record["email"]
        if devices:
            addresses["push"] = max(devices, key=lambda d: d.get("created_at", ""))["endpoint_arn"]
        states = {
            channel: ChannelState(
                # An address a provider reported gone (a hard bounce, an invalid number) is skipped until it changes.
                has_address=channel in addresses and not unreachable(record, channel),
                consented=bool(consents.get(channel, {}).get("granted")),
                opted_out=bool(consents.get(channel, {}).get("opted_out")),
                sends=int((stats.get(channel) or {}).get("sent", 0)),
                answers=int((stats.get(channel) or {}).get("answered", 0)),
            )
            for channel in ("push", "sms", "email", "voice")
        }
        quiet = record.get("quiet_hours") or {"start": "21:00", "end": "08:00"}
        return Contact(
            language=record.get("language", "en"),
            timezone=record.get("timezone", "UTC"),
            preference=list(record.get("channels", [])),
            addresses=addresses,
            states=states,
            full_content={
                c for c, consent in consents.items() if consent.get("granted") and consent.get("full_content")
            },
            quiet_hours=(quiet["start"], quiet["end"]),
            first_name=record.get("given_name"),
            monitoring_quiet=episode_quiet(record),
            episode=record.get("episode"),
        )

    def _clinician_contact(self, clinician_id: str) -> Contact | None:
        record = self._clinicians.get(clinician_id)
        if record is None:
            return None
        addresses = {}
        if record.get("phone"):
            addresses["sms"] = record["phone"]
            if "voice" in self._channels:  # a call wakes someone a text may not (escalation level 3)
                addresses["voice"] = record["phone"]
        if record.get("email"):
            addresses["email"] = record["email"]
        # Work contacts: no consent step, no quiet hours (pages are for emergencies; digests are scheduled).
        states = {
            c: ChannelState(has_address=c in addresses and not unreachable(record, c), consented=True)
            for c in ("push", "sms", "email", "voice")
        }
        return Contact(
            language=record.get("language", "en"),
            timezone=record.get("timezone", "UTC"),
            preference=list(record.get("channels", [])),
            addresses=addresses,
            states=states,
            full_content=set(),
            quiet_hours=None,
            first_name=record.get("given_name"),
        )

    def _render(self, intent: Intent, contact: Contact, channel: str, now: datetime) -> Any:
        template = intent.template
        due_at = intent.params.get("due_at")
        if due_at and now - parse_iso(str(due_at)) > LATE_REMINDER and f"{template}_late" in TEMPLATES:
            # Rule 12: held back by quiet hours for over an hour, a dose reminder is not "take it now".
            template = f"{template}_late"
        params = {**self._clinic, **intent.params}
        full = f"{template}_full"
        # A full variant whose content is absent (a reminder label a patient typed is never passed) is not used.
        if channel in contact.full_content and full in TEMPLATES and _has_content(full, params):
            template = full
        return render(template, contact.language, params, email=channel == "email")

    # -- responses (adaptive channel choice) -------------------------------------------

    def record_response(self, patient_id: str, at: datetime, record: dict[str, Any] | None = None) -> None:
        """A reading, TAKEN or reply: credit the channel(s) whose last send was within 2 h."""
        since = iso(at - ANSWER_WINDOW)
        if record is None:
            record = self._patients.get(patient_id) or {}
        stats = record.get("channel_stats") or {}
        for channel in ("push", "sms", "email", "voice"):
            entry = stats.get(channel) or {}
            last_sent = entry.get("last_sent_at", "")
            if last_sent >= since and entry.get("answered_at", "") < last_sent:
                self._store.count_answer(patient_id, channel, at, since)


@lru_cache(maxsize=256)
def _fields(template: str) -> frozenset[str]:
    return frozenset(fields_of(template))


def _has_content(template: str, params: dict[str, Any]) -> bool:
    return all(params.get(name) not in (None, "") for name in _fields(template))
