"""DynamoDB side of once-only delivery: an intent's claim, its settlement, and messages deferred by quiet hours.

==========================  =========================================  =========================
item                        pk / sk                                     notes
==========================  =========================================  =========================
delivery claim              MSG#<intent_id> / DELIVERY                  dedupe; expires after 30 d
deferred message            MSG#<intent_id> / DEFERRED                  due index (due_shard/due_at)
==========================  =========================================  =========================

A claim takes the patient's daily slot in the same transaction (``claim_with_slot``), and a
message that went out settles its claim together with what follows from it (``record_sent``):
those transactions write the counters', conversation's and timeline's items, whose shapes
their own modules give.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.counters import (
    DynamoSendCounters,
    profile_key,
    send_counted,
    sends_key,
    slot_update,
    stats_update,
)
from chalicelib.adapters.due_index import due_shard
from chalicelib.adapters.dynamo import DynamoTable, error_code, serialize
from chalicelib.adapters.messages import DynamoMessages, message_key, message_status
from chalicelib.adapters.receipts import receipt_item
from chalicelib.adapters.timeline import event_item
from chalicelib.domain.messages import Intent
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.services.ports import DailySlot, Sent

CLAIM_TTL = timedelta(days=30)


def _claim(intent_id: str, now: datetime, lease: timedelta, safety: bool) -> dict[str, Any]:
    """The claim's conditional PutItem: absent, or left to retry, or (safety) a lapsed delivery's."""
    values: dict[str, Any] = {":retry": "retry", ":deferred": "deferred"}
    condition = "attribute_not_exists(pk) OR #s IN (:retry, :deferred)"
    if safety:
        # A safety message whose delivery crashed mid-way is sent again (at least once).
        condition += " OR (#s = :sending AND lease_until < :now)"
        values.update({":sending": "sending", ":now": iso(now)})
    item = {
        "pk": f"MSG#{intent_id}",
        "sk": "DELIVERY",
        "entity": "delivery",
        "status": "sending",
        "lease_until": iso(now + lease),
        "expires_at": int((now + CLAIM_TTL).timestamp()),
    }
    return {"item": item, "condition": condition, "values": values, "names": {"#s": "status"}}


class DynamoDeliveryClaims:
    """The ``DeliveryClaims`` port."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table
        # What a refused transaction falls back to, each write apart.
        self._counters = DynamoSendCounters(table)
        self._messages = DynamoMessages(table)

    def _update_op(self, key: dict[str, str], request: dict[str, Any]) -> dict[str, Any]:
        """A transaction's Update of the item at ``key``."""
        return {"Update": {"TableName": self.table.name, "Key": serialize(key), **request}}

    # -- claims ----------------------------------------------------------------------------

    def claim(self, intent_id: str, now: datetime, lease: timedelta, safety: bool) -> str:
        """'claimed' when this delivery may send, else the state that stops it ('sent', 'busy', 'uncertain')."""
        # put_checked recognises a botocore retry of this very claim as claimed (not "busy").
        old = self.table.put_checked(**_claim(intent_id, now, lease, safety))
        if old is None:
            return "claimed"
        status = str(old.get("status", ""))
        if status == "sending":
            return "busy" if str(old.get("lease_until", "")) >= iso(now) else "uncertain"
        return status or "sent"

    def claim_with_slot(self, intent_id: str, now: datetime, lease: timedelta, slot: DailySlot) -> tuple[str, bool]:
        """The claim and the day's slot in one transaction; when either is refused, each apart as it allows.

        Refusals are rare (a duplicate delivery, a full day, a retry whose slot its first attempt
        took) and the second path answers exactly what ``claim`` and ``take_daily_slot`` would.
        """
        claim = _claim(intent_id, now, lease, safety=False)
        put = {
            "TableName": self.table.name,
            "Item": serialize(claim["item"]),
            "ConditionExpression": claim["condition"],
            "ExpressionAttributeValues": serialize(claim["values"]),
            "ExpressionAttributeNames": claim["names"],
        }
        update = self._update_op(sends_key(slot.patient_id, slot.day), slot_update(intent_id, slot.cap, slot.expires))
        if self.table.transact_if([{"Put": put}, update]):
            return "claimed", True
        status = self.claim(intent_id, now, lease, safety=False)
        if status != "claimed":
            return status, False
        try:
            return status, self._counters.take_daily_slot(slot.patient_id, slot.day, intent_id, slot.cap, slot.expires)
        except Exception:
            # Claimed but not yet sent: leave it claimable for the queue's retry, or it would come
            # back "uncertain" after the lease and never be sent.
            self.settle(intent_id, "retry")
            raise

    def settle(self, intent_id: str, status: str, detail: dict[str, Any] | None = None) -> None:
        self.table.client.update_item(**self._settle(intent_id, status, detail)["Update"])

    def _settle(self, intent_id: str, status: str, detail: dict[str, Any] | None) -> dict[str, Any]:
        key = {"pk": f"MSG#{intent_id}", "sk": "DELIVERY"}
        return self._update_op(
            key,
            {
                "UpdateExpression": "SET #s = :s, detail = :d",
                "ExpressionAttributeNames": {"#s": "status"},
                "ExpressionAttributeValues": serialize({":s": status, ":d": detail or {}}),
            },
        )

    def record_sent(self, sent: Sent) -> None:
        """The claim settled 'sent', the send counted, the message's status and the timeline entry, at once.

        One transaction.  When DynamoDB refuses it (a profile or message gone, a profile from before
        the channel counters), each is written apart, as ``settle``, ``count_send``, ``update_message``
        and ``put_event`` would.
        """
        ops: list[dict[str, Any]] = [self._settle(sent.intent_id, "sent", sent.detail)]
        if sent.counted:
            patient_id, channel, at = sent.counted
            expression, values = send_counted(at)
            ops.append(self._update_op(profile_key(patient_id), stats_update(expression, channel, values)))
        if sent.message:
            patient_id, at_text, message_id, channel = sent.message
            ops.append(self._update_op(message_key(patient_id, at_text, message_id), message_status("sent", channel)))
        if sent.event:
            ops.append(self.table.put_op(self._sent_event(sent)))
        if sent.receipt:
            ops.append(self.table.put_op(receipt_item(sent.receipt)))
        try:
            if self.table.transact_if(ops):
                return
        except ClientError as error:
            if error_code(error) != "ValidationException":
                raise
        self.settle(sent.intent_id, "sent", sent.detail)
        if sent.counted:
            self._counters.count_send(*sent.counted)
        if sent.message:
            patient_id, at_text, message_id, channel = sent.message
            self._messages.update_message(patient_id, at_text, message_id, "sent", channel)
        if sent.event:
            self.table.put(self._sent_event(sent))
        if sent.receipt:
            self.table.put(receipt_item(sent.receipt))

    @staticmethod
    def _sent_event(sent: Sent) -> dict[str, Any]:
        """The send's timeline entry, whose delivery status the provider's events move on (``receipts.py``)."""
        assert sent.event is not None
        e = sent.event
        item = {**event_item(e.patient_id, e.kind, e.at, e.event_id, e.summary, e.channel, e.ref), "status": "sent"}
        if sent.receipt is not None:
            # Which receipt is this send's: retention removes it with the entry (``adapters/retention.py``).
            item["provider_id"] = sent.receipt.provider_id
        return item

    # -- deferral (quiet hours) ------------------------------------------------------------

    def defer(self, intent: Intent, due_at: datetime) -> None:
        self.table.put(
            {
                "pk": f"MSG#{intent.intent_id}",
                "sk": "DEFERRED",
                "entity": "deferred_message",
                "due_shard": due_shard(intent.intent_id),
                "due_at": iso(due_at),
                "intent": intent.model_dump_json(),
            }
        )

    def take_deferred(self, item: dict[str, Any]) -> Intent | None:
        """Release a due deferred message; the caller that wins the release enqueues it.

        A conditional update rather than a delete: a botocore retry of a delete that
        landed finds nothing and could not tell it had won, and the message would be lost.
        The released item leaves the due index and expires with the claim.
        """
        expires = int((parse_iso(item["due_at"]) + CLAIM_TTL).timestamp())
        won = self.table.update_if(
            {"pk": item["pk"], "sk": item["sk"]},
            UpdateExpression="SET released = :yes, expires_at = :exp REMOVE due_shard, due_at",
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(released)",
            ExpressionAttributeValues=serialize({":yes": True, ":exp": expires}),
        )
        return Intent.model_validate_json(item["intent"]) if won else None
