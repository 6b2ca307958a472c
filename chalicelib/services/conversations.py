"""One conversation per patient across channels.

A clinician's message is stored, then delivered on the patient's channels by
the messaging engine; the patient's reply by SMS (or any channel) lands in the
same thread.  ``GET /patients/{pid}/messages`` shows both directions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from chalicelib.domain.cursors import CursorCodec
from chalicelib.domain.errors import ConflictError, ForbiddenError
from chalicelib.domain.idempotency import chosen_id, fingerprint
from chalicelib.domain.identity import Principal, is_care_team
from chalicelib.domain.messages import Intent, Message, MessageAccepted, MessageIn, Recipient
from chalicelib.domain.timeutil import iso
from chalicelib.services.ports import Audit, Outbox, Page, PatientAccess, Record, Timeline


class ConversationStore(Timeline, Protocol):
    """The patient's conversation (``DynamoConversationStore``), and the timeline its inbound messages join.

    A message record is the ``Message`` fields (``message_id``, ``thread_id``, ``direction``,
    ``channel``, ``at``, ``text``, ``status``) and, for a clinician's, its ``author``.
    """

    def put_message_once(self, patient_id: str, message: Record, request_hash: str) -> Record | None:
        """Store ``message`` unless its ``message_id`` was used: None; else the first ``at`` and ``request_hash``."""
        ...

    def put_message(self, patient_id: str, message: Record) -> None:
        """Store ``message``; the same ``at`` and ``message_id`` again overwrites it."""
        ...

    def messages(self, patient_id: str, limit: int, start_key: Any) -> Page:
        """The conversation newest first; ``last_key`` (opaque, JSON-safe) whenever a page is full."""
        ...


def thread_of(patient_id: str) -> str:
    return f"th-{patient_id}"


class ConversationService:
    def __init__(
        self,
        store: ConversationStore,
        messaging: Outbox,
        patients: PatientAccess,
        audit: Audit,
        cursors: CursorCodec,
        clock: Callable[[], datetime],
        new_id: Callable[[str], str],
    ) -> None:
        self._store = store
        self._messaging = messaging
        self._patients = patients
        self._audit = audit
        self._cursors = cursors
        self._clock = clock
        self._new_id = new_id

    def send(
        self, principal: Principal, patient_id: str, request: MessageIn, idempotency_key: str | None = None
    ) -> MessageAccepted:
        """Store the message and queue its delivery; a repeat of the same request stores and sends nothing new.

        The key is the client's ``message_id`` or one derived from the ``Idempotency-Key``
        header; the store keeps one message per id, so the repeat finds the first.
        """
        record = self._patients.visible_record(principal, patient_id)
        if not is_care_team(principal, record.get("care_team", [])):
            raise ForbiddenError("Only the care team sends messages to a patient.")
        now = self._clock()
        message_id = chosen_id(
            request.message_id, idempotency_key, "m", ("messages", patient_id, principal.subject), self._new_id
        )
        at = iso(now)
        thread_id = thread_of(patient_id)
        asked = fingerprint({"text": request.text, "author": principal.subject})
        message = {
            "message_id": message_id,
            "thread_id": thread_id,
            "direction": "out",
            "channel": None,
            "at": at,
            "text": request.text,
            "status": "queued",
            "author": principal.subject,
        }
        existing = self._store.put_message_once(patient_id, message, asked)
        if existing is not None:
            if existing.get("request_hash") != asked:
                raise ConflictError("A different message with this message_id was already sent.")
            # The first request's delivery is queued (or done); queueing again is safe: delivery dedupes by intent.
            at = existing["at"]
        self._messaging.enqueue(
            Intent(
                intent_id=f"message:{message_id}",
                recipient=Recipient(kind="patient", id=patient_id),
                template="clinician_message_patient",
                params={"text": request.text, "message_at": at},
                message_id=message_id,
                thread_id=thread_id,
                correlation_id=principal.request_id,
                created_at=now,
                patient_id=patient_id,
            )
        )
        self._audit.record(principal, "create", "message", patient_id, {"replay": existing is not None})
        return MessageAccepted(message_id=message_id, thread_id=thread_id)

    def record_inbound(self, patient_id: str, channel: str, text: str, at: datetime, inbound_id: str) -> dict[str, Any]:
        message = {
            "message_id": f"in-{inbound_id}"[:100],
            "thread_id": thread_of(patient_id),
            "direction": "in",
            "channel": channel,
            "at": iso(at),
            "text": text,
            "status": "received",
        }
        self._store.put_message(patient_id, message)
        self._store.put_event(
            patient_id,
            "message_in",
            at,
            message["message_id"],
            f"message received by {channel}",
            channel,
            {"message_id": message["message_id"], "thread_id": message["thread_id"]},
        )
        return message

    def page(
        self, principal: Principal, patient_id: str, limit: int, cursor: str | None
    ) -> tuple[list[Message], str | None]:
        self._patients.visible_record(principal, patient_id)
        scope = f"messages:{patient_id}"
        page = self._store.messages(patient_id, limit, self._cursors.decode(scope, cursor))
        self._audit.record(principal, "list", "message", patient_id, {"count": len(page.items)})
        # Pages walk back from the newest; within a page, oldest first (as a chat reads).
        items = [Message.model_validate(i) for i in reversed(page.items)]
        return items, self._cursors.encode(scope, page.last_key)
