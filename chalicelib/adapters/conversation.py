"""DynamoDB side of the patient's conversation and care-team notes, and reading the timeline.

The items are those of ``adapters/messages.py`` and ``adapters/timeline.py`` (their key and
item helpers are reused, so the modules write the very same keys); this store adds what the
conversation and the record need on top: ids written once, records without their keys.

==========================  =========================================  =========================
item                        pk / sk                                     notes
==========================  =========================================  =========================
conversation message        PATIENT#<pid> / MSG#<at>#<message_id>
message idempotency key     PATIENT#<pid> / MESSAGE_ID#<message_id>     ``at``, ``request_hash``
note (and its key)          PATIENT#<pid> / NOTE_ID#<note_id>           the note, ``request_hash``
timeline event              PATIENT#<pid> / EVENT#<at>#<event_id>       lsi1: EVENT#<kind>#<at>#<id>
==========================  =========================================  =========================

A message or note sent once per id is a transaction whose first Put is conditional on its
key item being absent: a repeat finds the first request's key item and is answered from it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.adapters.dynamo import DynamoTable, Page
from chalicelib.adapters.messages import DynamoMessages, key_item, message_item, put_first
from chalicelib.adapters.timeline import DynamoTimeline, event_item
from chalicelib.services.ports import TimelineEntry

Record = dict[str, Any]
_STORAGE = ("pk", "sk", "lsi1sk", "entity")


def _event_record(item: Record) -> Record:
    """A stored event as the port gives it: no keys, with its ``event_id`` and ``position`` (``<at>#<event_id>``)."""
    position = str(item["sk"]).removeprefix("EVENT#")
    record = {k: v for k, v in item.items() if k not in _STORAGE}
    return {**record, "event_id": position.split("#", 1)[1], "position": position}


class DynamoConversationStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table
        self._messages = DynamoMessages(table)
        self._timeline = DynamoTimeline(table)

    # -- the conversation ------------------------------------------------------------------

    def put_message_once(self, patient_id: str, message: Record, request_hash: str) -> Record | None:
        """Store ``message`` unless its ``message_id`` was used: None, else the first request's ``at`` and hash."""
        key = key_item(patient_id, "MESSAGE_ID", message["message_id"])
        existing = put_first(
            self.table, [{**key, "at": message["at"], "request_hash": request_hash}, message_item(patient_id, message)]
        )
        if existing is None:
            return None
        return {"message_id": message["message_id"], "at": existing["at"], "request_hash": existing["request_hash"]}

    def put_message(self, patient_id: str, message: Record) -> None:
        """Store ``message`` (an inbound one's id is its provider's: a redelivery overwrites it)."""
        self._messages.put_message(patient_id, message)

    def update_message(self, patient_id: str, at: str, message_id: str, status: str, channel: str | None) -> None:
        self._messages.update_message(patient_id, at, message_id, status, channel)

    def messages(self, patient_id: str, limit: int, start_key: Any) -> Page:
        """The conversation newest first; ``last_key`` (opaque, JSON-safe) whenever a page is full."""
        page = self._messages.messages(patient_id, limit, start_key)
        return Page([{k: v for k, v in i.items() if k not in _STORAGE} for i in page.items], page.last_key)

    # -- notes and the timeline ------------------------------------------------------------

    def put_note_once(self, patient_id: str, note: Record, request_hash: str, event: TimelineEntry) -> Record | None:
        """Store ``note`` with its timeline ``event`` unless its ``note_id`` was used: None, else the first note."""
        key = key_item(patient_id, "NOTE_ID", note["note_id"])
        e = event
        existing = put_first(
            self.table,
            [
                {**key, "request_hash": request_hash, **note},
                event_item(e.patient_id, e.kind, e.at, e.event_id, e.summary, e.channel, e.ref),
            ],
        )
        if existing is None:
            return None
        return {k: v for k, v in existing.items() if k not in _STORAGE}

    def put_event(
        self,
        patient_id: str,
        kind: str,
        at: datetime,
        event_id: str,
        summary: str,
        channel: str | None = None,
        ref: dict[str, Any] | None = None,
    ) -> None:
        self._timeline.put_event(patient_id, kind, at, event_id, summary, channel, ref)

    def timeline_page(self, patient_id: str, kind: str | None, lower: str, upper: str, limit: int) -> Page:
        """Events newest first, ``position`` from ``lower`` to ``upper`` inclusive (one kind, or all): one Query.

        ``last_key`` is not None whenever the page is full.
        """
        page = self._timeline.timeline_page(patient_id, kind, lower, upper, limit)
        return Page([_event_record(i) for i in page.items], page.last_key)
