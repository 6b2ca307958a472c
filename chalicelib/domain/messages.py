"""Message intents: what a producer asks the messaging engine to deliver.

Producers (alerts, reminders, clinicians, inbound replies) never pick a
channel: they say *who*, *why* (the template) and *how urgent*; routing picks
the channels at delivery time.  ``intent_id`` is the dedupe key: the same
intent enqueued or delivered twice is sent once.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chalicelib.domain.text import KEPT_CHARACTER, FreeText
from chalicelib.domain.timeutil import UtcTime

Priority = Literal["safety", "routine"]
RecipientKind = Literal["patient", "clinician"]


class Recipient(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)
    kind: RecipientKind
    id: str


class Intent(BaseModel):
    # Parsed from the outbound queue: an error must not quote a phone, an address or a code (F14).
    model_config = ConfigDict(hide_input_in_errors=True)

    intent_id: str = Field(min_length=1, max_length=200)
    recipient: Recipient
    template: str
    params: dict[str, Any] = Field(default_factory=dict)
    priority: Priority = "routine"
    # Clinician-to-patient conversation messages carry their stored message.
    message_id: str | None = None
    thread_id: str | None = None
    # Only channels in this set (None: any the routing allows), e.g. a reply
    # to an inbound SMS goes back by SMS.
    only_channels: list[str] | None = None
    correlation_id: str | None = None
    created_at: UtcTime
    # Subject of the message for the patient timeline (a patient id), if any.
    patient_id: str | None = None
    # A contact-verification code only: the pending phone or email it goes to, and nowhere else
    # (delivery checks it is still the patient's pending value).
    verify_address: str | None = None


class MessageIn(BaseModel):
    """``POST /patients/{pid}/messages``: a care-team message to the patient."""

    model_config = ConfigDict(extra="forbid")
    # The client's id makes a repeated POST safe (or send an Idempotency-Key header).
    message_id: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = None
    text: FreeText = Field(min_length=1, max_length=2000, json_schema_extra={"pattern": KEPT_CHARACTER})


class Message(BaseModel):
    """One message of the patient's conversation, either direction, any channel."""

    message_id: str
    thread_id: str
    direction: str
    channel: str | None = None  # not yet known while an outbound message waits for delivery
    at: str
    text: str
    status: str


class Rendered(BaseModel):
    """A message body for one channel."""

    subject: str | None = None
    text: str
    html: str | None = None


class MessageAccepted(BaseModel):
    """A clinician's message, stored and queued for delivery (``POST /patients/{pid}/messages``)."""

    message_id: str
    thread_id: str
