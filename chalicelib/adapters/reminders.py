"""DynamoDB repository for reminders and doses.

======================  =========================================  ================================
item                    pk / sk                                     notes
======================  =========================================  ================================
reminder                PATIENT#<pid> / REMINDER#<rid>              due index while active
dose (one occurrence)   PATIENT#<pid> / DOSE#<due_at>#<rid>         created once per occurrence
======================  =========================================  ================================

A tick advances a reminder with a conditional update on the due time it read,
so a stale or repeated tick loses harmlessly; the dose's conditional put is
the second guard against sending one occurrence twice.
"""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.due_index import due_shard
from chalicelib.adapters.dynamo import TOKEN_ATTRIBUTE, DynamoTable, serialize, throttling_as_503
from chalicelib.adapters.keys import patient_pk


def _due_fields(record: dict[str, Any]) -> dict[str, Any]:
    if record.get("active") and record.get("next_due_at"):
        return {
            "due_shard": due_shard(f"reminder:{record['patient_id']}:{record['reminder_id']}"),
            "due_at": record["next_due_at"],
        }
    return {}


def _dose_sk(dose: dict[str, Any]) -> str:
    return f"DOSE#{dose['due_at']}#{dose['reminder_id']}"


class DynamoReminderStore:
    """``services.reminders.ReminderStore`` on the single table (the keys above never leave this module)."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def create(self, record: dict[str, Any]) -> bool:
        item = {
            "pk": patient_pk(record["patient_id"]),
            "sk": f"REMINDER#{record['reminder_id']}",
            "entity": "reminder",
            "unanswered": 0,
            **record,
            **_due_fields(record),
        }
        # A deleted reminder's id may be used again.
        return self.table.put_if(item, "attribute_not_exists(pk) OR attribute_exists(deleted_at)")

    def replace(self, record: dict[str, Any]) -> None:
        """Rewrite a reminder's schedule (keeps its counters); the due index follows ``next_due_at``.

        A reminder deleted since it was read stays deleted (and off the due index).
        """
        due = _due_fields(record)
        fields = {
            k: v
            for k, v in record.items()
            if k not in ("pk", "sk", "entity", "due_shard", "due_at", "unanswered", TOKEN_ATTRIBUTE)
        }
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        alias = {k: n for n, k in names.items()}
        values = {f":v{i}": v for i, v in enumerate(fields.values()) if v is not None}
        sets = [f"{alias[k]} = :v{i}" for i, (k, v) in enumerate(fields.items()) if v is not None]
        removes = [alias[k] for k, v in fields.items() if v is None]
        if due:
            sets += ["due_shard = :ds", "due_at = :da"]
            values.update({":ds": due["due_shard"], ":da": due["due_at"]})
        else:
            removes += ["due_shard", "due_at"]
        expression = "SET " + ", ".join(sets) + (f" REMOVE {', '.join(removes)}" if removes else "")
        self.table.update_if(
            {"pk": patient_pk(record["patient_id"]), "sk": f"REMINDER#{record['reminder_id']}"},
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(pk) AND attribute_not_exists(deleted_at)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=serialize(values),
        )

    def count_live(self, patient_id: str) -> int:
        """The patient's reminders, deleted tombstones not counted: one Query (Select COUNT), paged past 1 MB."""
        total, start = 0, None
        while True:
            request: dict[str, Any] = {
                "TableName": self.table.name,
                "KeyConditionExpression": "pk = :p AND begins_with(sk, :r)",
                "FilterExpression": "attribute_not_exists(deleted_at)",
                "ExpressionAttributeValues": serialize({":p": patient_pk(patient_id), ":r": "REMINDER#"}),
                "Select": "COUNT",
                "ConsistentRead": True,
            }
            if start:
                request["ExclusiveStartKey"] = start
            with throttling_as_503():
                response = self.table.client.query(**request)
            total += int(response.get("Count", 0))
            start = response.get("LastEvaluatedKey")
            if not start:
                return total

    def get(self, patient_id: str, reminder_id: str, include_deleted: bool = False) -> dict[str, Any] | None:
        item = self.table.get(patient_pk(patient_id), f"REMINDER#{reminder_id}")
        return item if item and (include_deleted or "deleted_at" not in item) else None

    def of_patient(self, patient_id: str) -> list[dict[str, Any]]:
        items = self.table.query_all(
            "pk = :p AND begins_with(sk, :r)", {":p": patient_pk(patient_id), ":r": "REMINDER#"}, consistent=True
        )
        return [i for i in items if "deleted_at" not in i]

    def delete(self, patient_id: str, reminder_id: str, at: str) -> None:
        """A tombstone, off the due index: a repeated DELETE finds it and answers the same."""
        self.table.update_if(
            {"pk": patient_pk(patient_id), "sk": f"REMINDER#{reminder_id}"},
            UpdateExpression="SET deleted_at = if_not_exists(deleted_at, :at), active = :no "
            "REMOVE due_shard, due_at, next_due_at",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=serialize({":at": at, ":no": False}),
        )

    def advance(self, item: dict[str, Any], fired_at: str, next_due: str | None) -> bool:
        """Move the reminder past ``fired_at``, once: False when another tick already did."""
        values: dict[str, Any] = {":old": item["due_at"], ":fired": fired_at, ":one": 1}
        expression = "SET last_fired_at = :fired, unanswered = unanswered + :one"
        if next_due:
            expression += ", due_at = :next, next_due_at = :next"
            values[":next"] = next_due
        else:
            expression += " REMOVE due_at, due_shard, next_due_at"
        return self.table.update_if(
            {"pk": patient_pk(item["patient_id"]), "sk": f"REMINDER#{item['reminder_id']}"},
            UpdateExpression=expression,
            ConditionExpression="due_at = :old",
            ExpressionAttributeValues=serialize(values),
        )

    def answered(self, patient_id: str, reminder_id: str) -> None:
        self.table.update_if(
            {"pk": patient_pk(patient_id), "sk": f"REMINDER#{reminder_id}"},
            UpdateExpression="SET unanswered = :zero",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues=serialize({":zero": 0}),
        )

    # -- missed readings ----------------------------------------------------------
    # PATIENT#<pid> / MISSED: due at last reading + 3 d (nudge), then + 7 d (alert).

    def track_missed(self, patient_id: str, anchor: str, due_at: str) -> None:
        """Start watching for a gap in readings (idempotent: an existing watch keeps its anchor)."""
        self.table.put_if_absent(
            {
                "pk": patient_pk(patient_id),
                "sk": "MISSED",
                "entity": "missed",
                "patient_id": patient_id,
                "anchor": anchor,
                "stage": 0,
                "due_shard": due_shard(f"missed:{patient_id}"),
                "due_at": due_at,
            }
        )

    def reading_seen(self, patient_id: str, measured_at: str, due_at: str) -> None:
        """A reading restarts the watch (and clears a nudged or alerted gap); a no-op without a watch."""
        self.table.update_if(
            {"pk": patient_pk(patient_id), "sk": "MISSED"},
            UpdateExpression="SET anchor = :m, stage = :zero, due_at = :d, due_shard = :s",
            ConditionExpression="attribute_exists(pk) AND anchor < :m",
            ExpressionAttributeValues=serialize(
                {":m": measured_at, ":zero": 0, ":d": due_at, ":s": due_shard(f"missed:{patient_id}")}
            ),
        )

    def missed_step(self, item: dict[str, Any], stage: int, next_due: str | None) -> bool:
        """Move a watch to ``stage`` once (False when a reading or another tick changed it first)."""
        values: dict[str, Any] = {":old": item["due_at"], ":stage": stage}
        expression = "SET stage = :stage"
        if next_due:
            expression += ", due_at = :next"
            values[":next"] = next_due
        else:
            expression += " REMOVE due_at, due_shard"
        return self.table.update_if(
            {"pk": patient_pk(item["patient_id"]), "sk": "MISSED"},
            UpdateExpression=expression,
            ConditionExpression="due_at = :old",
            ExpressionAttributeValues=serialize(values),
        )

    # -- doses -------------------------------------------------------------------

    def create_dose(self, dose: dict[str, Any]) -> bool:
        item = {
            "pk": patient_pk(dose["patient_id"]),
            "sk": _dose_sk(dose),
            "entity": "dose",
            **dose,
        }
        return self.table.put_if_absent(item)

    def doses_between(self, patient_id: str, start: str, end: str) -> list[dict[str, Any]]:
        return self.table.query_all(
            "pk = :p AND sk BETWEEN :a AND :b",
            {":p": patient_pk(patient_id), ":a": f"DOSE#{start}", ":b": f"DOSE#{end}~"},
            consistent=True,
        )

    def mark_done(self, dose: dict[str, Any], at: str, how: str) -> bool:
        return self.table.update_if(
            {"pk": patient_pk(dose["patient_id"]), "sk": _dose_sk(dose)},
            UpdateExpression="SET #s = :done, done_at = :at, done_by = :how",
            ConditionExpression="#s = :due",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=serialize({":done": "done", ":due": "due", ":at": at, ":how": how}),
        )
