"""Two-way SMS: the inbound topic's payload (AWS End User Messaging / SNS shape) to the inbound service."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class InboundSms(BaseModel):
    """The JSON AWS publishes to the two-way SMS topic."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    origination_number: str = Field(alias="originationNumber")
    destination_number: str | None = Field(default=None, alias="destinationNumber")
    message_body: str = Field(alias="messageBody", max_length=1600)
    inbound_message_id: str = Field(alias="inboundMessageId", min_length=1, max_length=100)


def handle_inbound(service: Any, message: str, at: datetime) -> str:
    sms = InboundSms.model_validate(json.loads(message))
    result: str = service.handle(sms.origination_number, sms.message_body, sms.inbound_message_id, at)
    return result
