"""How a send fails (:class:`SendError`), and delivery truth: what became of a message after its provider
accepted it (issue 19, the rules).

A message's status only moves up this order, whatever order the providers' events arrive in and however
often each arrives:

    queued < sent < unknown < delivered < failed < bounced < complained

- ``queued``: stored, not yet handed to a provider; ``sent``: the provider accepted it (its message id is
  kept); the rest are what the provider's events say became of it.
- ``unknown``: the provider says it cannot tell (no carrier receipt within 72 hours); it ranks below
  every real outcome, so a receipt that arrives later still tells the truth.
- An email can be delivered and then bounce (the receiving server bounces after accepting) or be marked as
  spam by its reader: ``bounced`` and ``complained`` rank above ``delivered``.
- A non-final event (SES ``DeliveryDelay``, a call that is ringing) says ``sent``, below
  every final status, so it never undoes one.

Taking the higher of two statuses is idempotent, commutative and associative: an event delivered twice
changes nothing the second time, and any order of the same events ends in the same status
(tests/unit/test_delivery.py checks this with hypothesis over event sequences).

Some outcomes also say the address cannot be reached any more (``unreachable``): a permanent bounce or a
complaint for an email address (AWS reviews an SES account above 5 % bounces or 0.1 % complaints), an
invalid or blocking number for SMS, a disabled push endpoint.  A temporary failure (a full
mailbox, a phone switched off, a carrier's outage) fails the message but leaves the address alone.  An
address is marked on the profile it belongs to (``mark_attribute``), naming the address, so a changed
address is reachable again at once.

The providers' event shapes are the documented ones: SES event publishing through SNS
(https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-sns-contents.html), SNS's SMS
delivery status logs (https://docs.aws.amazon.com/sns/latest/dg/sms_stats_cloudwatch.html), End User
Messaging voice events (https://docs.aws.amazon.com/sms-voice/latest/userguide/configuration-sets-event-types.html)
and SNS mobile application events
(https://docs.aws.amazon.com/sns/latest/dg/application-event-notifications.html).
"""

from __future__ import annotations

from collections.abc import Mapping
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


# The profile field holding each markable channel's address.  Push has no mark: its device is removed.
ADDRESS_FIELD = {"sms": "phone", "email": "email"}


def mark_attribute(channel: str) -> str:
    """The profile attribute marking ``channel``'s address unreachable: ``{"address", "since", "reason"}``."""
    return f"unreachable_{channel}"


def unreachable(profile: Mapping[str, Any], channel: str) -> bool:
    """Whether the profile's current address on ``channel`` is marked unreachable.

    The mark names the address it is about, so a changed address is reachable again at once.
    """
    field = ADDRESS_FIELD.get(channel)
    address = profile.get(field) if field else None
    mark = profile.get(mark_attribute(channel)) or {}
    return bool(address) and mark.get("address") == address


def unreachable_channels(profile: Mapping[str, Any]) -> list[str]:
    """The channels whose current address is marked unreachable (the worklist and the console show them)."""
    return [channel for channel in ADDRESS_FIELD if unreachable(profile, channel)]


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


# -- SMS: SNS's delivery status logs ------------------------------------------------------------

# SMS leaves through SNS Publish (docs/design.md "Delivery truth" says why).  SNS logs each text's carrier
# outcome to CloudWatch Logs: ``status`` SUCCESS or FAILURE, and the carrier's words in ``providerResponse``.
# Of those words, only these say the number itself cannot take texts (lower case, matched as substrings);
# every other failure (a phone switched off, a carrier's outage, content a carrier blocked) fails the
# message and leaves the number alone.
# ("Opted out" is not among them: STOP and START already move the patient's SMS consent, and a mark
# would outlive a START.)
_NUMBER_GONE = ("invalid phone number", "not a valid phone number", "phone has blocked sms")


def from_sms_log(record: dict[str, Any]) -> Outcome:
    """The outcome of one SNS SMS delivery status log record."""
    notification = record.get("notification") or {}
    delivery = record.get("delivery") or {}
    message_id = str(notification.get("messageId") or "")
    result = str(record.get("status") or "")
    if not message_id or result not in ("SUCCESS", "FAILURE"):
        raise UnknownEvent("not an SNS SMS delivery status record")
    words = str(delivery.get("providerResponse") or result.lower())
    gone = result == "FAILURE" and any(marker in words.lower() for marker in _NUMBER_GONE)
    status = Status.DELIVERED if result == "SUCCESS" else Status.FAILED
    at = str(notification.get("timestamp") or "")
    return Outcome("sms", message_id, str(delivery.get("destination") or ""), status, gone, words, at)


# -- voice: End User Messaging event destinations ----------------------------------------------

# Voice calls leave through End User Messaging (SendVoiceMessage); its configuration set's events say
# how each call ended.  No outcome of a call says the number is gone: a busy line or no answer is today's.
_VOICE = {
    "VOICE_INITIATED": Status.SENT,
    "VOICE_RINGING": Status.SENT,
    "VOICE_ANSWERED": Status.DELIVERED,
    "VOICE_COMPLETED": Status.DELIVERED,
    "VOICE_BUSY": Status.FAILED,
    "VOICE_NO_ANSWER": Status.FAILED,
    "VOICE_FAILED": Status.FAILED,
    "VOICE_TTL_EXPIRED": Status.FAILED,
}


def from_voice(event: dict[str, Any]) -> Outcome:
    """The outcome an End User Messaging voice event gives."""
    kind = str(event.get("eventType") or "")
    message_id = str(event.get("messageId") or "")
    if kind not in _VOICE or not message_id:
        raise UnknownEvent(f"voice event type {kind!r}")
    return Outcome(
        "voice",
        message_id,
        str(event.get("destinationPhoneNumber") or ""),
        _VOICE[kind],
        False,
        str(event.get("messageStatusDescription") or kind),
        str(event.get("eventTimestamp") or ""),
    )


# -- push: SNS platform application events -----------------------------------------------------


def from_push(event: dict[str, Any]) -> Outcome:
    """A platform application's ``DeliveryFailure`` event: SNS reports only permanent failures there.

    The endpoint is disabled (the app was removed, the token expired or is invalid): the device is gone.
    """
    message_id = str(event.get("MessageId") or "")
    if event.get("EventType") != "DeliveryFailure" or not message_id:
        raise UnknownEvent(f"push event type {event.get('EventType')!r}")
    reason = f"{event.get('FailureType', 'DeliveryFailure')}: {event.get('FailureMessage', '')}".rstrip(": ")
    return Outcome(
        "push",
        message_id,
        str(event.get("EndpointArn") or ""),
        Status.FAILED,
        True,
        reason,
        str(event.get("Time") or ""),
    )


def outcomes_of(notification: dict[str, Any]) -> list[Outcome]:
    """The outcomes of one notification on the delivery-events topic: an SES event record or a push failure."""
    if "mail" in notification:
        return from_ses(notification)
    if "EndpointArn" in notification:
        return [from_push(notification)]
    if str(notification.get("eventType", "")).startswith("VOICE_"):
        return [from_voice(notification)]
    raise UnknownEvent("a notification of no known shape")
