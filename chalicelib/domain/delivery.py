"""How a send fails (:class:`SendError`), and delivery truth: what became of a message after its provider
accepted it (issue 19, the rules).

A message's status only moves up this order, whatever order the providers' events arrive in and however
often each arrives:

    queued < sent < unknown < delivered < failed < bounced < complained

- ``queued``: stored, not yet handed to a provider; ``sent``: the provider accepted it (its message id is
  kept); the rest are what the provider's events say became of it.
- ``unknown`` is what End User Messaging reports when no carrier receipt came within 72 hours; it ranks
  below every real outcome, so a receipt that arrives later still tells the truth.
- An email can be delivered and then bounce (the receiving server bounces after accepting) or be marked as
  spam by its reader: ``bounced`` and ``complained`` rank above ``delivered``.
- A non-final event (SES ``DeliveryDelay``, SMS ``TEXT_QUEUED``/``TEXT_PENDING``) says ``sent``, below
  every final status, so it never undoes one.

Taking the higher of two statuses is idempotent, commutative and associative: an event delivered twice
changes nothing the second time, and any order of the same events ends in the same status
(tests/unit/test_delivery.py checks this with hypothesis over event sequences).

Some outcomes also say the address cannot be reached any more (``unreachable``): a permanent bounce or a
complaint for an email address (AWS reviews an SES account above 5 % bounces or 0.1 % complaints), an
invalid or blocked number for SMS, a disabled push endpoint.  A temporary failure (a full mailbox, a phone
switched off, a carrier's outage) fails the message but leaves the address alone.

The providers' event shapes are the documented ones: SES event publishing through SNS
(https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html) and End User
Messaging SMS event destinations
(https://docs.aws.amazon.com/sms-voice/latest/userguide/configuration-sets-event-types.html).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class SendError(Exception):
    """A channel could not send: ``transient`` (retry later) or permanent (fall back to the next channel).

    The one error a channel raises, shared by the channel adapters and the services.
    """

    def __init__(self, code: str, transient: bool) -> None:
        super().__init__(code)
        self.code = code
        self.transient = transient


class Status(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    UNKNOWN = "unknown"
    DELIVERED = "delivered"
    FAILED = "failed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"

    @property
    def rank(self) -> int:
        return list(Status).index(self)

    @property
    def final(self) -> bool:
        return self.rank > Status.SENT.rank


def advance(current: Status | str | None, reported: Status | str) -> Status:
    """The status after an event reports ``reported``: the higher of the two (None: nothing known yet)."""
    now = Status(reported)
    if current is None:
        return now
    before = Status(current)
    return now if now.rank > before.rank else before


@dataclass(frozen=True)
class Outcome:
    """What one provider event says about one message and its recipient."""

    channel: str  # email, sms, push
    message_id: str  # the provider's id, kept when the message was sent
    recipient: str  # the address, number or push endpoint it went to
    status: Status
    unreachable: bool = False  # the recipient's address cannot be used again until it changes
    reason: str = ""  # the provider's words, for the timeline (never the message's text)
    at: str = ""  # when the provider says it happened (ISO 8601, or epoch milliseconds as text)


class UnknownEvent(ValueError):
    """An event this module has no rule for (a shape or type the providers document but we do not use)."""


# -- email: SES event publishing ----------------------------------------------------------------

_SES_PLAIN = {
    "Send": Status.SENT,
    "DeliveryDelay": Status.SENT,  # not final: SES keeps trying
    "Delivery": Status.DELIVERED,
    "Reject": Status.FAILED,  # SES refused to send it (a virus scan); the address is not at fault
    "Rendering Failure": Status.FAILED,
    "RenderingFailure": Status.FAILED,
}
_SES_IGNORED = frozenset({"Open", "Click", "Subscription"})  # engagement: not delivery, and not tracked


def from_ses(event: dict[str, Any]) -> list[Outcome]:
    """The outcomes an SES event record gives, one per recipient it names; [] for engagement events."""
    kind = event.get("eventType") or event.get("notificationType")
    mail = event.get("mail") or {}
    message_id = str(mail.get("messageId") or "")
    if not kind or not message_id:
        raise UnknownEvent("not an SES event record")
    if kind in _SES_IGNORED:
        return []
    if kind == "Bounce":
        bounce = event.get("bounce") or {}
        permanent = bounce.get("bounceType") == "Permanent"
        # A transient bounce (a full mailbox) is the end of this message, not of the address.
        status = Status.BOUNCED if permanent else Status.FAILED
        reason = f"{bounce.get('bounceType', 'Undetermined')} bounce ({bounce.get('bounceSubType', 'General')})"
        return _each(message_id, bounce.get("bouncedRecipients"), status, permanent, reason, bounce.get("timestamp"))
    if kind == "Complaint":
        complaint = event.get("complaint") or {}
        reason = f"complaint ({complaint.get('complaintFeedbackType', 'not given')})"
        recipients = complaint.get("complainedRecipients")
        return _each(message_id, recipients, Status.COMPLAINED, True, reason, complaint.get("timestamp"))
    if kind not in _SES_PLAIN:
        raise UnknownEvent(f"SES event type {kind!r}")
    recipients = [str(a) for a in mail.get("destination") or []]
    detail = event.get(_lower_first(kind)) or {}
    at = str(detail.get("timestamp") or mail.get("timestamp") or "")
    return [Outcome("email", message_id, r, _SES_PLAIN[kind], False, kind, at) for r in recipients]


def _each(message_id: str, recipients: Any, status: Status, unreachable: bool, reason: str, at: Any) -> list[Outcome]:
    """One outcome per recipient an SES bounce or complaint names (``{"emailAddress": ...}`` each)."""
    return [
        Outcome("email", message_id, str(r.get("emailAddress", "")), status, unreachable, reason, str(at or ""))
        for r in recipients or []
    ]


def _lower_first(kind: str) -> str:
    camel = kind.replace(" ", "")
    return camel[:1].lower() + camel[1:]


# -- SMS: End User Messaging event destinations ------------------------------------------------

# (status, the number cannot be used again)
_SMS = {
    "TEXT_QUEUED": (Status.SENT, False),
    "TEXT_PENDING": (Status.SENT, False),
    "TEXT_DELIVERED": (Status.DELIVERED, False),
    "TEXT_SUCCESSFUL": (Status.DELIVERED, False),  # accepted by the carrier; some countries say only this
    "TEXT_INVALID": (Status.FAILED, True),  # not a valid number
    "TEXT_BLOCKED": (Status.FAILED, True),  # the recipient's device or carrier blocks messages to them
    "TEXT_CARRIER_UNREACHABLE": (Status.FAILED, False),  # a temporary error in the carrier's network
    "TEXT_UNREACHABLE": (Status.FAILED, False),  # the phone is off or out of coverage
    "TEXT_TTL_EXPIRED": (Status.FAILED, False),
    "TEXT_INVALID_MESSAGE": (Status.FAILED, False),  # the body: ours to fix, not the number's
    "TEXT_CARRIER_BLOCKED": (Status.FAILED, False),  # the carrier judged the content
    "TEXT_SPAM": (Status.FAILED, False),
    "TEXT_PROTECT_BLOCKED": (Status.FAILED, False),
    "TEXT_UNKNOWN": (Status.UNKNOWN, False),  # also what comes after 72 hours without a carrier receipt
}


def from_sms(event: dict[str, Any]) -> Outcome:
    """The outcome an End User Messaging SMS event gives."""
    kind = str(event.get("eventType") or "")
    message_id = str(event.get("messageId") or "")
    if kind not in _SMS or not message_id:
        raise UnknownEvent(f"SMS event type {kind!r}")
    status, unreachable = _SMS[kind]
    return Outcome(
        "sms",
        message_id,
        str(event.get("destinationPhoneNumber") or ""),
        status,
        unreachable,
        str(event.get("messageStatusDescription") or kind),
        str(event.get("eventTimestamp") or ""),
    )
