"""Delivery truth: what the providers' events say became of a message, and what follows from it.

An event (an SES event record, an SNS SMS delivery log, a push platform's failure) names the
provider's message id; the receipt kept at send time says whose message it was.  Then, in order:

1. A status that ranks no higher than the message's own changes nothing (a repeat, or an event
   out of order): the event is counted and dropped.
2. A message that did not arrive (failed or bounced; not a complaint, whose reader got it) and has
   channels left to try (``fallback``: the route's next channels, or a clinician's other waking
   channels for a page) is sent again on them, as a new intent derived from the old one (so a
   redelivered event never sends it twice).  One that leaves a patient with no channel hands them
   to a person, as a failed send does; a page that leaves a clinician with no waking channel goes
   to the on-call list in their place (docs/clinical.md "Safety net" rule 5).  Nothing is sent
   again once the event comes later than ``FALLBACK_WINDOW`` after the send: carrier receipts can
   take 72 hours, and escalation never waits on them.
3. The status, the conversation message's and the timeline entry's status, a failure's timeline
   entry, and an unreachable address's mark are written in one transaction, only if the status
   still ranks higher (so two copies of an event racing write once).  A disabled push endpoint's
   device is removed.

The re-send comes before the write so that a crash between them cannot lose it: a redelivered event
finds the status unwritten, and sends the derived intent again, which delivery's claim deduplicates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from chalicelib.domain.delivery import Outcome, Status, advance
from chalicelib.domain.episodes import NO_CALL_TASK
from chalicelib.domain.messages import Intent, Recipient
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.observability import count, logger, opaque
from chalicelib.services.ports import Clinicians, Mark, Receipts, Record, TimelineEntry

# How long after a send a failure still sends the message again on the next channel.
FALLBACK_WINDOW = {"safety": timedelta(hours=2), "routine": timedelta(hours=12)}
REALTIME = frozenset({"push", "sms", "voice"})
ON_CALL_COPY = "on-call-"
FAILURES = frozenset({Status.FAILED, Status.BOUNCED, Status.COMPLAINED})
# A complaint came from someone who received the message: it stops email, and sends nothing again.
UNDELIVERED = frozenset({Status.FAILED, Status.BOUNCED})
MAX_INTENT_ID = 200


class HandsToHumans(Protocol):
    """What the delivery service needs of messaging: the outbox, and a call task for an unreachable patient."""

    def enqueue(self, *intents: Intent) -> None: ...

    def hand_to_human(
        self, patient_id: str, task_id: str, reason: str, now: datetime, tried: list[str] | None = None
    ) -> None: ...


class DeliveryService:
    def __init__(
        self,
        receipts: Receipts,
        messaging: HandsToHumans,
        clinicians: Clinicians,
        clock: Callable[[], datetime],
    ) -> None:
        self._receipts = receipts
        self._messaging = messaging
        self._clinicians = clinicians
        self._clock = clock

    def record(self, outcome: Outcome) -> str:
        """Apply one outcome; returns what it did ('settled', 'unchanged', 'unmatched')."""
        receipt = self._receipts.receipt(outcome.channel, outcome.message_id)
        if receipt is None:
            # Not ours (another application on the account), or older than the receipts are kept.
            count("DeliveryEventsUnmatched")
            return "unmatched"
        current = Status(receipt.get("status", Status.SENT))
        if advance(current, outcome.status) == current:
            count("DeliveryEventsUnchanged")
            return "unchanged"
        now = self._clock()
        intent = Intent.model_validate_json(receipt["intent"])
        if outcome.status in UNDELIVERED:
            self._fall_back(receipt, intent, outcome, now)
        mark = self._mark(receipt, outcome) if outcome.unreachable else None
        entry = self._entry(receipt, intent, outcome, now) if outcome.status in FAILURES else None
        if not self._receipts.settle_receipt(receipt, outcome.status, now, outcome.reason, mark, entry):
            count("DeliveryEventsUnchanged")
            return "unchanged"
        if outcome.unreachable and outcome.channel == "push" and receipt["recipient_kind"] == "patient":
            self._receipts.remove_devices(receipt["recipient_id"], receipt["to"])
        count(f"{outcome.channel.title()}{outcome.status.title()}")
        if mark is not None:
            count("AddressesMarkedUnreachable")
        return "settled"

    # -- what follows a failure ------------------------------------------------------------------

    def _fall_back(self, receipt: Record, intent: Intent, outcome: Outcome, now: datetime) -> None:
        if intent.verify_address is not None:
            return  # a code that did not arrive is asked for again by the person waiting for it
        # From when the message was first asked for: a derived intent keeps the original's created_at,
        # so a chain of re-sends ends with the window.
        if now - min(intent.created_at, parse_iso(receipt["sent_at"])) > FALLBACK_WINDOW[intent.priority]:
            count("FallbacksTooLate")
            return
        remaining = [c for c in receipt.get("fallback") or [] if c != outcome.channel]
        if remaining:
            count("FallbacksSent")
            self._messaging.enqueue(
                intent.model_copy(
                    update={
                        "intent_id": derived_id(intent.intent_id, f"after-{outcome.channel}"),
                        "only_channels": remaining,
                    }
                )
            )
            return
        if intent.recipient.kind == "patient":
            if intent.template in NO_CALL_TASK:
                return
            tried = [outcome.channel]
            reason = f"{outcome.channel} {outcome.status.value} and no other channel reaches the patient"
            self._messaging.hand_to_human(intent.recipient.id, f"call-{intent.intent_id}", reason, now, tried)
        elif intent.priority == "safety" and outcome.channel in REALTIME and ON_CALL_COPY not in intent.intent_id:
            # The page's waking channel failed and the clinician has no other: rule 5's on-call list. An
            # email copy failing changes nothing (it was only ever in addition), and an on-call copy
            # is never handed to the on-call list again.
            self._page_on_call(intent)

    def _page_on_call(self, intent: Intent) -> None:
        """Rule 5: a page that cannot wake its clinician goes to the on-call list in their place."""
        on_call = [c for c in (self._clinicians.on_call() or {}).get("clinician_ids", []) if c != intent.recipient.id]
        if not on_call:
            count("PagesNobodyElseToWake")
            logger().error("a page reached nobody and no one is on call", extra={"intent": opaque(intent.intent_id)})
            return
        count("PagesHandedToOnCall")
        self._messaging.enqueue(
            *[
                intent.model_copy(
                    update={
                        "intent_id": derived_id(intent.intent_id, f"{ON_CALL_COPY}{cid}"),
                        "recipient": Recipient(kind="clinician", id=cid),
                        "only_channels": None,
                    }
                )
                for cid in dict.fromkeys(on_call)
            ]
        )

    @staticmethod
    def _mark(receipt: Record, outcome: Outcome) -> Mark | None:
        if outcome.channel not in ("email", "sms"):
            return None  # push: the device is removed; voice: no outcome marks a number
        return Mark(
            receipt["recipient_kind"],
            receipt["recipient_id"],
            outcome.channel,
            receipt["to"],
            iso_or_text(outcome.at),
            outcome.reason,
        )

    @staticmethod
    def _entry(receipt: Record, intent: Intent, outcome: Outcome, now: datetime) -> TimelineEntry | None:
        """The failure on the patient's timeline ('delivery_failed'), with the provider's words."""
        patient_id = receipt.get("patient_id")
        if not patient_id:
            return None
        what = intent.template.replace("_", " ").capitalize()
        whom = "" if receipt["recipient_kind"] == "patient" else f" to {receipt['recipient_id']}"
        summary = f"{what}{whom} by {outcome.channel} {outcome.status.value}: {outcome.reason}"
        if outcome.unreachable:
            summary += f"; the {outcome.channel} address is marked unreachable"
        ref = {"intent_id": intent.intent_id, "template": intent.template, "status": outcome.status.value}
        event_id = f"{intent.intent_id}:receipt:{outcome.channel}:{outcome.status.value}"
        return TimelineEntry(patient_id, "delivery_failed", now, event_id, summary[:500], outcome.channel, ref)


def derived_id(intent_id: str, suffix: str) -> str:
    """A new intent's id from an old one: the same every time, within 200 characters, and naming ``suffix``."""
    candidate = f"{intent_id}~{suffix}"
    if len(candidate) <= MAX_INTENT_ID:
        return candidate
    digest = hashlib.sha256(candidate.encode()).hexdigest()[:32]
    tail = f"~{suffix[:40]}~{digest}"
    return f"{intent_id[: MAX_INTENT_ID - len(tail)]}{tail}"


def iso_or_text(at: str) -> str:
    """A provider's time as RFC 3339 when it is epoch milliseconds (End User Messaging), else as given."""
    if at.isdigit():
        return iso(datetime.fromtimestamp(int(at) / 1000, tz=UTC))
    return at
