"""DynamoDB side of delivery truth: each message a provider accepted, by the provider's id.

==========================  =========================================  =========================
item                        pk / sk                                     notes
==========================  =========================================  =========================
sent message                SENT#<channel>#<provider id> / RECEIPT      written with the send;
                                                                        expires after 30 days
==========================  =========================================  =========================

The receipt is written in the send's own transaction (``DynamoDeliveryClaims.record_sent``), so a
provider's event can always find the message it is about.  Its ``rank`` is its status's place in
``chalicelib.domain.delivery.Status``: an event changes it only upward, by a condition on ``rank``
in the transaction that also writes what follows (the conversation message's and the timeline
entry's status, the failure's timeline entry, an address marked unreachable).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from chalicelib.adapters.dynamo import DynamoTable, serialize
from chalicelib.adapters.keys import clinician_pk, patient_pk
from chalicelib.adapters.messages import message_key
from chalicelib.adapters.timeline import event_item
from chalicelib.domain.delivery import Status, mark_attribute
from chalicelib.domain.timeutil import iso
from chalicelib.services.ports import Mark, Receipt, Record, TimelineEntry

# Carrier receipts come within 72 hours; SES reports a bounce within days at most.
RECEIPT_TTL = timedelta(days=30)


def receipt_key(channel: str, provider_id: str) -> dict[str, str]:
    return {"pk": f"SENT#{channel}#{provider_id}", "sk": "RECEIPT"}


def receipt_item(receipt: Receipt) -> dict[str, Any]:
    item: dict[str, Any] = {
        **receipt_key(receipt.channel, receipt.provider_id),
        "entity": "receipt",
        "channel": receipt.channel,
        "provider_id": receipt.provider_id,
        "to": receipt.to,
        "recipient_kind": receipt.recipient_kind,
        "recipient_id": receipt.recipient_id,
        "intent": receipt.intent,
        "fallback": list(receipt.fallback),
        "sent_at": iso(receipt.sent_at),
        "status": Status.SENT.value,
        "rank": Status.SENT.rank,
        "expires_at": int((receipt.sent_at + RECEIPT_TTL).timestamp()),
    }
    if receipt.patient_id:
        item["patient_id"] = receipt.patient_id
    if receipt.event:
        item["event_at"], item["event_id"] = receipt.event
    if receipt.message:
        item["message_at"], item["message_id"] = receipt.message
    return item


class DynamoReceipts:
    """The ``Receipts`` port."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def receipt(self, channel: str, provider_id: str) -> Record | None:
        key = receipt_key(channel, provider_id)
        return self.table.get(key["pk"], key["sk"])

    def settle_receipt(
        self, receipt: Record, status: str, at: datetime, reason: str, mark: Mark | None, entry: TimelineEntry | None
    ) -> bool:
        now = Status(status)
        ops: list[dict[str, Any]] = [
            self.table.update_op(
                receipt_key(receipt["channel"], receipt["provider_id"]),
                "SET #s = :s, #r = :r, settled_at = :at, reason = :why",
                "attribute_exists(pk) AND #r < :r",
                {":s": now.value, ":r": now.rank, ":at": iso(at), ":why": reason[:300]},
                {"#s": "status", "#r": "rank"},
            )
        ]
        patient_id = receipt.get("patient_id")
        if patient_id and receipt.get("event_id"):
            ops.append(
                self.table.update_op(
                    {"pk": patient_pk(patient_id), "sk": f"EVENT#{receipt['event_at']}#{receipt['event_id']}"},
                    "SET #s = :s",
                    "attribute_exists(pk)",
                    {":s": now.value},
                    {"#s": "status"},
                )
            )
        message_op = None
        if patient_id and receipt.get("message_id"):
            # Only while the message's latest send is this one: after a re-send on another channel, a late
            # event about the first send does not overwrite what the second says.
            message_op = self.table.update_op(
                message_key(patient_id, receipt["message_at"], receipt["message_id"]),
                "SET #s = :s",
                "attribute_exists(pk) AND channel = :ch",
                {":s": now.value, ":ch": receipt["channel"]},
                {"#s": "status"},
            )
            ops.append(message_op)
        essential = [ops[0]]
        if entry is not None:
            put = self.table.put_op(event_item(*_event_fields(entry)))
            ops.append(put)
            essential.append(put)
        if mark is not None:
            owner = patient_pk if mark.recipient_kind == "patient" else clinician_pk
            ops.append(
                self.table.update_op(
                    {"pk": owner(mark.recipient_id), "sk": "PROFILE"},
                    "SET #m = :m",
                    "attribute_exists(pk)",
                    {":m": {"address": mark.address, "since": mark.since, "reason": mark.reason[:300]}},
                    {"#m": mark_attribute(mark.channel)},
                )
            )
        # Refused: by the rank (handled before, or a higher status meanwhile), or because an item that
        # follows the status has moved on (the message re-sent on another channel) or is gone (a message
        # or profile deleted).  Then the rest is written without the message, and at least the status
        # and the timeline entry are.
        for attempt in (ops, [op for op in ops if op is not message_op], essential):
            if self.table.transact_if(attempt):
                return True
            found = self.receipt(receipt["channel"], receipt["provider_id"])
            if found is None or int(found.get("rank", 0)) >= now.rank:
                return False
        return False

    def remove_devices(self, patient_id: str, endpoint: str) -> int:
        devices = self.table.query(
            "pk = :p AND begins_with(sk, :d)", {":p": patient_pk(patient_id), ":d": "DEVICE#"}, consistent=True
        ).items
        gone = [d for d in devices if d.get("endpoint_arn") == endpoint]
        for device in gone:
            key = serialize({"pk": device["pk"], "sk": device["sk"]})
            self.table.client.delete_item(TableName=self.table.name, Key=key)
        return len(gone)


def _event_fields(entry: TimelineEntry) -> tuple[Any, ...]:
    return (entry.patient_id, entry.kind, entry.at, entry.event_id, entry.summary, entry.channel, entry.ref)
