"""The patient's conversation across channels."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, page
from chalicelib.api.patients import known_id
from chalicelib.bootstrap import container
from chalicelib.domain.messages import Message, MessageAccepted, MessageIn

bp = Blueprint(__name__)


@endpoint(
    bp,
    "/patients/{patient_id}/messages",
    methods=["POST"],
    status=202,
    summary="Message the patient",
    request=MessageIn,
    response=MessageAccepted,
    keyed=True,
    conflicts=True,
)
def send_message(call: Call, patient_id: str) -> Any:
    return container().conversations.send(
        call.caller, known_id(patient_id), call.body(MessageIn), call.idempotency_key()
    )


@endpoint(
    bp,
    "/patients/{patient_id}/messages",
    methods=["GET"],
    summary="The conversation, both directions",
    response=Message,
    paged=True,
)
def list_messages(call: Call, patient_id: str) -> Any:
    items, cursor = container().conversations.page(call.caller, known_id(patient_id), call.limit(), call.cursor())
    return page(items, cursor)
