"""DynamoDB side of messaging: delivery claims, the timeline, conversations, tasks,
channel statistics, deferred messages and the outbound queue.

Keys (single table):

==========================  =========================================  =========================
item                        pk / sk                                     notes
==========================  =========================================  =========================
delivery claim              MSG#<intent_id> / DELIVERY                  dedupe; expires after 30 d
deferred message            MSG#<intent_id> / DEFERRED                  due index (due_shard/due_at)
timeline event              PATIENT#<pid> / EVENT#<at>#<event_id>       lsi1: EVENT#<kind>#<at>#<id>
conversation message        PATIENT#<pid> / MSG#<at>#<message_id>
task (call the patient)     PATIENT#<pid> / TASK#<task_id>
phone lookup                PHONE#<e164> / PATIENT#<pid>                written with the patient
daily sends (cap)           PATIENT#<pid> / SENDS#<local day>           expires after 2 days
==========================  =========================================  =========================
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.due_index import due_shard
from chalicelib.adapters.dynamo import DynamoTable, Page, deserialize, error_code, serialize
from chalicelib.adapters.queues import SqsQueue
from chalicelib.adapters.stores import patient_pk
from chalicelib.domain.messages import Intent
from chalicelib.domain.timeutil import iso, parse_iso
from chalicelib.services.ports import DailySlot, Sent

CLAIM_TTL = timedelta(days=30)
CHANNELS = ("push", "sms", "email", "voice")


class DynamoMessagingStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # -- delivery claims ---------------------------------------------------------

    @staticmethod
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

    def claim(self, intent_id: str, now: datetime, lease: timedelta, safety: bool) -> str:
        """'claimed' when this delivery may send, else the state that stops it ('sent', 'busy', 'uncertain')."""
        # put_checked recognises a botocore retry of this very claim as claimed (not "busy").
        old = self.table.put_checked(**self._claim(intent_id, now, lease, safety))
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
        claim = self._claim(intent_id, now, lease, safety=False)
        put = {
            "TableName": self.table.name,
            "Item": serialize(claim["item"]),
            "ConditionExpression": claim["condition"],
            "ExpressionAttributeValues": serialize(claim["values"]),
            "ExpressionAttributeNames": claim["names"],
        }
        update = self._update_op(
            self._sends_key(slot.patient_id, slot.day), self._slot(intent_id, slot.cap, slot.expires)
        )
        if self.table.transact_if([{"Put": put}, update]):
            return "claimed", True
        status = self.claim(intent_id, now, lease, safety=False)
        taken = status == "claimed" and self.take_daily_slot(
            slot.patient_id, slot.day, intent_id, slot.cap, slot.expires
        )
        return status, taken

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

    def _update_op(self, key: dict[str, str], request: dict[str, Any]) -> dict[str, Any]:
        """A transaction's Update of the item at ``key``."""
        return {"Update": {"TableName": self.table.name, "Key": serialize(key), **request}}

    def record_sent(self, sent: Sent) -> None:
        """The claim settled 'sent', the send counted, the message's status and the timeline entry, at once.

        One transaction.  When DynamoDB refuses it (a profile or message gone, a profile from before
        the channel counters), each is written apart, as ``settle``, ``count_send``, ``update_message``
        and ``put_event`` would.
        """
        ops: list[dict[str, Any]] = [self._settle(sent.intent_id, "sent", sent.detail)]
        if sent.counted:
            patient_id, channel, at = sent.counted
            expression, values = self._send_counted(at)
            ops.append(self._update_op(self._profile_key(patient_id), self._stats(expression, channel, values)))
        if sent.message:
            patient_id, at_text, message_id, channel = sent.message
            key = self._message_key(patient_id, at_text, message_id)
            ops.append(self._update_op(key, self._message_status("sent", channel)))
        if sent.event:
            e = sent.event
            item = self.event_item(e.patient_id, e.kind, e.at, e.event_id, e.summary, e.channel, e.ref)
            ops.append(self.table.put_op(item))
        try:
            if self.table.transact_if(ops):
                return
        except ClientError as error:
            if error_code(error) != "ValidationException":
                raise
        self.settle(sent.intent_id, "sent", sent.detail)
        if sent.counted:
            self.count_send(*sent.counted)
        if sent.message:
            patient_id, at_text, message_id, channel = sent.message
            self.update_message(patient_id, at_text, message_id, "sent", channel)
        if sent.event:
            e = sent.event
            self.put_event(e.patient_id, e.kind, e.at, e.event_id, e.summary, e.channel, e.ref)

    # -- deferral (quiet hours) --------------------------------------------------

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

    # -- the patient timeline and conversation -------------------------------------

    @staticmethod
    def event_item(
        patient_id: str,
        kind: str,
        at: datetime,
        event_id: str,
        summary: str,
        channel: str | None = None,
        ref: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return {
            "pk": patient_pk(patient_id),
            "sk": f"EVENT#{iso(at)}#{event_id}",
            # One kind's events in time order: a kinds= filter reads only what it shows.
            "lsi1sk": f"EVENT#{kind}#{iso(at)}#{event_id}",
            "entity": "event",
            "kind": kind,
            "at": iso(at),
            "channel": channel,
            "summary": summary,
            "ref": ref or {},
        }

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
        self.table.put(self.event_item(patient_id, kind, at, event_id, summary, channel, ref))

    def timeline_page(self, patient_id: str, kind: str | None, lower: str, upper: str, limit: int) -> Page:
        """Newest first, positions ``<at>#<event_id>`` from ``lower`` to ``upper`` inclusive: one Query."""
        if kind is None:
            return self.table.query(
                "pk = :pk AND sk BETWEEN :lo AND :hi",
                {":pk": patient_pk(patient_id), ":lo": f"EVENT#{lower}", ":hi": f"EVENT#{upper}"},
                limit=limit,
                forward=False,
            )
        return self.table.query(
            "pk = :pk AND lsi1sk BETWEEN :lo AND :hi",
            {":pk": patient_pk(patient_id), ":lo": f"EVENT#{kind}#{lower}", ":hi": f"EVENT#{kind}#{upper}"},
            index="lsi1",
            limit=limit,
            forward=False,
        )

    @staticmethod
    def message_item(patient_id: str, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "pk": patient_pk(patient_id),
            "sk": f"MSG#{message['at']}#{message['message_id']}",
            "entity": "message",
            **message,
        }

    @staticmethod
    def key_item(patient_id: str, kind: str, key: str) -> dict[str, Any]:
        """``PATIENT#<pid> / <kind>#<key>``: the idempotency key of a write whose own key holds a time."""
        return {"pk": patient_pk(patient_id), "sk": f"{kind}#{key}", "entity": "idempotency_key"}

    def put_message(self, patient_id: str, message: dict[str, Any]) -> None:
        self.table.put(self.message_item(patient_id, message))

    def put_first(self, items: list[dict[str, Any]]) -> dict[str, Any] | None:
        """Write ``items`` in one transaction unless the first one's key exists; then return that stored item.

        The first item is the request's idempotency key (a message or note id): a
        repeated request finds it and is answered from it, and nothing is written twice.
        """
        ops = [self.table.put_op(items[0], "attribute_not_exists(pk)")] + [self.table.put_op(i) for i in items[1:]]
        try:
            self.table.transact(ops)
        except ClientError as error:
            reasons = error.response.get("CancellationReasons") or []
            if error_code(error) == "TransactionCanceledException" and reasons[:1] and reasons[0].get("Item"):
                return deserialize(reasons[0]["Item"])
            raise
        return None

    def update_message(self, patient_id: str, at: str, message_id: str, status: str, channel: str | None) -> None:
        self.table.update_if(self._message_key(patient_id, at, message_id), **self._message_status(status, channel))

    @staticmethod
    def _message_key(patient_id: str, at: str, message_id: str) -> dict[str, str]:
        return {"pk": patient_pk(patient_id), "sk": f"MSG#{at}#{message_id}"}

    @staticmethod
    def _message_status(status: str, channel: str | None) -> dict[str, Any]:
        return {
            "UpdateExpression": "SET #s = :s, channel = :c",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {"#s": "status"},
            "ExpressionAttributeValues": serialize({":s": status, ":c": channel or "none"}),
        }

    def messages(self, patient_id: str, limit: int, start_key: Any) -> Page:
        return self.table.query(
            "pk = :p AND begins_with(sk, :m)",
            {":p": patient_pk(patient_id), ":m": "MSG#"},
            limit=limit,
            start_key=start_key,
            forward=False,
        )

    def put_task(self, patient_id: str, task: dict[str, Any]) -> bool:
        """Create a task once (its id is deterministic); False when it already exists."""
        return self.table.put_if_absent(
            {"pk": patient_pk(patient_id), "sk": f"TASK#{task['task_id']}", "entity": "task", **task}
        )

    # -- who is this, and how do we reach them -------------------------------------

    def contact_items(self, patient_id: str) -> list[dict[str, Any]]:
        """Consents and devices in one Query (they sort together: CONSENT# < DEVICE#)."""
        return self.table.query(
            "pk = :p AND sk BETWEEN :a AND :b",
            {":p": patient_pk(patient_id), ":a": "CONSENT#", ":b": "DEVICE#~"},
            consistent=True,
        ).items

    def patients_by_phone(self, phone: str) -> list[str]:
        page = self.table.query("pk = :p", {":p": f"PHONE#{phone}"}, consistent=True)
        return [i["patient_id"] for i in page.items]

    # -- the daily cap per recipient (docs/api.md "Trust rules", F3) ---------------------
    # PATIENT#<pid> / SENDS#<local day>: ``sent`` and the intents that took a slot, ``held`` and the
    # intents held.  The intent sets make a redelivered or retried intent take no second slot.

    @staticmethod
    def _sends_key(patient_id: str, day: str) -> dict[str, str]:
        return {"pk": patient_pk(patient_id), "sk": f"SENDS#{day}"}

    def take_daily_slot(self, patient_id: str, day: str, intent_id: str, cap: int, expires: int) -> bool:
        """One of the day's ``cap`` sends for this intent (once per intent); False when the day is full."""
        key = self._sends_key(patient_id, day)
        if self.table.update_if(key, **self._slot(intent_id, cap, expires)):
            return True
        item = self.table.get(key["pk"], key["sk"]) or {}
        return intent_id in (item.get("intents") or [])  # this intent's slot, taken by an earlier attempt

    @staticmethod
    def _slot(intent_id: str, cap: int, expires: int) -> dict[str, Any]:
        return {
            "UpdateExpression": "SET entity = :e, expires_at = :exp ADD sent :one, intents :ids",
            "ConditionExpression": "(attribute_not_exists(sent) OR sent < :cap) AND NOT contains(intents, :id)",
            "ExpressionAttributeValues": serialize(
                {":e": "daily_sends", ":exp": expires, ":one": 1, ":ids": {intent_id}, ":id": intent_id, ":cap": cap}
            ),
        }

    def hold(self, patient_id: str, day: str, intent_id: str, expires: int) -> bool:
        """Count a held message (once per intent); True for the day's first, when the recipient reached the cap."""
        key = self._sends_key(patient_id, day)
        values = {":e": "daily_sends", ":exp": expires, ":one": 1, ":ids": {intent_id}, ":id": intent_id}
        update = "SET entity = :e, expires_at = :exp ADD held :one, held_intents :ids"
        if self.table.update_if(
            key,
            UpdateExpression=update,
            ConditionExpression="attribute_not_exists(held)",
            ExpressionAttributeValues=serialize({k: v for k, v in values.items() if k != ":id"}),
        ):
            return True
        self.table.update_if(
            key,
            UpdateExpression=update,
            ConditionExpression="NOT contains(held_intents, :id)",
            ExpressionAttributeValues=serialize(values),
        )
        return False

    def held_on(self, days: dict[str, str]) -> dict[str, int]:
        """Messages held per patient on the given local day of each (``{patient_id: day}``), one BatchGetItem."""
        found = self.table.batch_get([(patient_pk(pid), f"SENDS#{day}") for pid, day in days.items()])
        return {i["pk"].removeprefix("PATIENT#"): int(i.get("held", 0)) for i in found}

    # -- adaptive channel choice -------------------------------------------------
    # Per-channel counts live on the patient profile (``channel_stats``), which every
    # delivery and every stream-processed reading reads anyway.

    def count_send(self, patient_id: str, channel: str, at: datetime) -> None:
        expression, values = self._send_counted(at)
        self._update_stats(patient_id, expression, channel, values)

    @staticmethod
    def _send_counted(at: datetime) -> tuple[str, dict[str, Any]]:
        expression = (
            "SET channel_stats.#c.sent = if_not_exists(channel_stats.#c.sent, :zero) + :one, "
            "channel_stats.#c.last_sent_at = :at"
        )
        return expression, {":zero": 0, ":one": 1, ":at": iso(at)}

    def count_answer(self, patient_id: str, channel: str, at: datetime, since: str) -> None:
        """Credit one answer to the last send on ``channel`` if it was at or after ``since`` and not yet credited."""
        self._update_stats(
            patient_id,
            "SET channel_stats.#c.answered = if_not_exists(channel_stats.#c.answered, :zero) + :one, "
            "channel_stats.#c.answered_at = :at",
            channel,
            {":zero": 0, ":one": 1, ":at": iso(at), ":since": since},
            condition="channel_stats.#c.last_sent_at >= :since AND "
            "(attribute_not_exists(channel_stats.#c.answered_at) OR "
            "channel_stats.#c.answered_at < channel_stats.#c.last_sent_at)",
        )

    @staticmethod
    def _profile_key(patient_id: str) -> dict[str, str]:
        return {"pk": patient_pk(patient_id), "sk": "PROFILE"}

    @staticmethod
    def _stats(expression: str, channel: str, values: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
        return {
            "UpdateExpression": expression,
            "ExpressionAttributeNames": {"#c": channel},
            "ExpressionAttributeValues": serialize(values),
            "ConditionExpression": "attribute_exists(pk)" + (f" AND ({condition})" if condition else ""),
        }

    def _update_stats(
        self, patient_id: str, expression: str, channel: str, values: dict[str, Any], condition: str | None = None
    ) -> None:
        """Counters on the profile, through update_if so a botocore retry does not count twice."""
        key = self._profile_key(patient_id)
        for attempt in range(2):
            try:
                self.table.update_if(key, **self._stats(expression, channel, values, condition))
                return
            except ClientError as error:
                # A profile written before channel_stats existed: create the maps once, then retry.
                if error_code(error) != "ValidationException" or attempt:
                    raise
                self.table.client.update_item(
                    TableName=self.table.name,
                    Key=serialize(key),
                    UpdateExpression="SET channel_stats = if_not_exists(channel_stats, :empty)",
                    ExpressionAttributeValues=serialize({":empty": {c: {} for c in CHANNELS}}),
                )
                self.table.client.update_item(
                    TableName=self.table.name,
                    Key=serialize(key),
                    UpdateExpression="SET channel_stats.#c = if_not_exists(channel_stats.#c, :empty)",
                    ExpressionAttributeNames={"#c": channel},
                    ExpressionAttributeValues=serialize({":empty": {}}),
                )


class SqsWorkQueue:
    """The tick's fan-out: due items, ten to a message and ten messages to a call."""

    ITEMS_PER_MESSAGE = 10

    def __init__(self, sqs: Any, queue_name: str) -> None:
        self._queue = SqsQueue(sqs, queue_name)

    def send(self, items: list[dict[str, Any]], now: datetime) -> None:
        size = self.ITEMS_PER_MESSAGE
        bodies = [
            json.dumps({"now": iso(now), "items": items[start : start + size]}, default=str)
            for start in range(0, len(items), size)
        ]
        self._queue.send([{"MessageBody": body} for body in bodies], "due-work messages")


class SqsOutbound:
    """Producers put intents on the outbound queue; the deliver handler takes them off."""

    def __init__(self, sqs: Any, queue_name: str) -> None:
        self._queue = SqsQueue(sqs, queue_name)

    @property
    def url(self) -> str:
        return self._queue.url

    def enqueue(self, intents: list[Intent]) -> None:
        entries = [
            {
                "MessageBody": intent.model_dump_json(),
                "MessageAttributes": {
                    "correlation_id": {"DataType": "String", "StringValue": intent.correlation_id or "-"},
                    "priority": {"DataType": "String", "StringValue": intent.priority},
                },
            }
            for intent in intents
        ]
        self._queue.send(entries, "intents")
