"""DynamoDB side of the send counters: the daily cap per recipient, held messages, per-channel statistics.

==========================  =========================================  =========================
item                        pk / sk                                     notes
==========================  =========================================  =========================
daily sends (cap)           PATIENT#<pid> / SENDS#<local day>           expires after 2 days
channel statistics          PATIENT#<pid> / PROFILE                     ``channel_stats`` map
==========================  =========================================  =========================

The day's item holds ``sent`` and the intents that took a slot, ``held`` and the intents
held (docs/api.md "Trust rules", F3): the intent sets make a redelivered or retried intent
take no second slot.  Per-channel counts live on the patient profile (``channel_stats``),
which every delivery and every stream-processed reading reads anyway.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import DynamoTable, error_code, serialize
from chalicelib.adapters.keys import patient_pk
from chalicelib.domain.timeutil import iso

CHANNELS = ("push", "sms", "email", "voice")


def sends_key(patient_id: str, day: str) -> dict[str, str]:
    return {"pk": patient_pk(patient_id), "sk": f"SENDS#{day}"}


def slot_update(intent_id: str, cap: int, expires: int) -> dict[str, Any]:
    """The UpdateItem (or a transaction's Update) of the day's item that takes one slot for ``intent_id``."""
    return {
        "UpdateExpression": "SET entity = :e, expires_at = :exp ADD sent :one, intents :ids",
        "ConditionExpression": "(attribute_not_exists(sent) OR sent < :cap) AND NOT contains(intents, :id)",
        "ExpressionAttributeValues": serialize(
            {":e": "daily_sends", ":exp": expires, ":one": 1, ":ids": {intent_id}, ":id": intent_id, ":cap": cap}
        ),
    }


def profile_key(patient_id: str) -> dict[str, str]:
    return {"pk": patient_pk(patient_id), "sk": "PROFILE"}


def send_counted(at: datetime) -> tuple[str, dict[str, Any]]:
    """The update expression and values that count one send on ``#c`` at ``at``."""
    expression = (
        "SET channel_stats.#c.sent = if_not_exists(channel_stats.#c.sent, :zero) + :one, "
        "channel_stats.#c.last_sent_at = :at"
    )
    return expression, {":zero": 0, ":one": 1, ":at": iso(at)}


def stats_update(expression: str, channel: str, values: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
    """The UpdateItem (or a transaction's Update) of the profile's ``channel_stats`` for ``channel``."""
    return {
        "UpdateExpression": expression,
        "ExpressionAttributeNames": {"#c": channel},
        "ExpressionAttributeValues": serialize(values),
        "ConditionExpression": "attribute_exists(pk)" + (f" AND ({condition})" if condition else ""),
    }


class DynamoSendCounters:
    """The ``SendCounters`` port, and the held counts the worklist shows."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # -- the daily cap per recipient -------------------------------------------------------------

    def take_daily_slot(self, patient_id: str, day: str, intent_id: str, cap: int, expires: int) -> bool:
        """One of the day's ``cap`` sends for this intent (once per intent); False when the day is full."""
        key = sends_key(patient_id, day)
        if self.table.update_if(key, **slot_update(intent_id, cap, expires)):
            return True
        item = self.table.get(key["pk"], key["sk"]) or {}
        return intent_id in (item.get("intents") or [])  # this intent's slot, taken by an earlier attempt

    def hold(self, patient_id: str, day: str, intent_id: str, expires: int) -> bool:
        """Count a held message (once per intent); True for the day's first, when the recipient reached the cap."""
        key = sends_key(patient_id, day)
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

    # -- adaptive channel choice -------------------------------------------------------------------

    def count_send(self, patient_id: str, channel: str, at: datetime) -> None:
        expression, values = send_counted(at)
        self._update_stats(patient_id, expression, channel, values)

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

    def _update_stats(
        self, patient_id: str, expression: str, channel: str, values: dict[str, Any], condition: str | None = None
    ) -> None:
        """Counters on the profile, through update_if so a botocore retry does not count twice."""
        key = profile_key(patient_id)
        for attempt in range(2):
            try:
                self.table.update_if(key, **stats_update(expression, channel, values, condition))
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
