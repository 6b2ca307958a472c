"""The patient's conversation across channels."""

from __future__ import annotations

from typing import Any

from chalice import Blueprint

from chalicelib.api.http import Call, endpoint, page
from chalicelib.api.patients import known_id
from chalicelib.bootstrap import container
from chalicelib.domain.messages import MessageIn

bp = Blueprint(__name__)


@endpoint(bp, "/patients/{patient_id}/messages", methods=["POST"], status=202)
def send_message(call: Call, patient_id: str) -> Any:
    return container().conversations.send(
        call.caller, known_id(patient_id), call.body(MessageIn), call.idempotency_key()
    )


@endpoint(bp, "/patients/{patient_id}/messages", methods=["GET"])
def list_messages(call: Call, patient_id: str) -> Any:
    items, cursor = container().conversations.page(call.caller, known_id(patient_id), call.limit(), call.cursor())
    return page(items, cursor)
