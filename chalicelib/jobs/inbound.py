"""Two-way SMS: the inbound topic's payload (AWS End User Messaging / SNS shape) to the inbound service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.text import FreeText
from chalicelib.jobs.events import MalformedEventError, parse_event


class InboundSms(BaseModel):
    """The JSON AWS publishes to the two-way SMS topic."""

    # hide_input_in_errors: a phone number or message body must never reach a log through an error (F14).
    model_config = ConfigDict(extra="ignore", populate_by_name=True, hide_input_in_errors=True)
    origination_number: str = Field(alias="originationNumber")
    destination_number: str | None = Field(default=None, alias="destinationNumber")
    message_body: FreeText = Field(alias="messageBody", max_length=1600)
    inbound_message_id: str = Field(alias="inboundMessageId", min_length=1, max_length=100)


def handle_inbound(service: Any, message: str, at: datetime) -> str:
    """Hand one inbound SMS to the service; a payload that does not parse is logged (types only) and dropped.

    Dropped, not raised: SNS would deliver the same malformed payload again, and no retry can fix it.
    """
    try:
        sms = parse_event(InboundSms, message, "inbound sms")
    except MalformedEventError:
        return "malformed"
    result: str = service.handle(sms.origination_number, sms.message_body, sms.inbound_message_id, at)
    return result
