"""DynamoDB side of the patient's conversation, its once-per-id writes, and the care team's tasks.

==========================  =========================================  =========================
item                        pk / sk                                     notes
==========================  =========================================  =========================
conversation message        PATIENT#<pid> / MSG#<at>#<message_id>
idempotency key             PATIENT#<pid> / <KIND>#<key>                e.g. MESSAGE_ID#<id>
task (call the patient)     PATIENT#<pid> / TASK#<task_id>
==========================  =========================================  =========================

A write whose own key holds a time (a message sorts by ``at``) is made once per id by
a transaction whose first Put, the id's key item, is conditional on its absence.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import DynamoTable, Page, deserialize, error_code, serialize
from chalicelib.adapters.keys import patient_pk


def message_item(patient_id: str, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "pk": patient_pk(patient_id),
        "sk": f"MSG#{message['at']}#{message['message_id']}",
        "entity": "message",
        **message,
    }


def message_key(patient_id: str, at: str, message_id: str) -> dict[str, str]:
    return {"pk": patient_pk(patient_id), "sk": f"MSG#{at}#{message_id}"}


def message_status(status: str, channel: str | None) -> dict[str, Any]:
    """The UpdateItem (or a transaction's Update) that marks a stored message, which must exist."""
    return {
        "UpdateExpression": "SET #s = :s, channel = :c",
        "ConditionExpression": "attribute_exists(pk)",
        "ExpressionAttributeNames": {"#s": "status"},
        "ExpressionAttributeValues": serialize({":s": status, ":c": channel or "none"}),
    }


def key_item(patient_id: str, kind: str, key: str) -> dict[str, Any]:
    """``PATIENT#<pid> / <kind>#<key>``: the idempotency key of a write whose own key holds a time."""
    return {"pk": patient_pk(patient_id), "sk": f"{kind}#{key}", "entity": "idempotency_key"}


def put_first(table: DynamoTable, items: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Write ``items`` in one transaction unless the first one's key exists; then return that stored item.

    The first item is the request's idempotency key (a message or note id): a
    repeated request finds it and is answered from it, and nothing is written twice.
    """
    ops = [table.put_op(items[0], "attribute_not_exists(pk)")] + [table.put_op(i) for i in items[1:]]
    try:
        table.transact(ops)
    except ClientError as error:
        reasons = error.response.get("CancellationReasons") or []
        if error_code(error) == "TransactionCanceledException" and reasons[:1] and reasons[0].get("Item"):
            return deserialize(reasons[0]["Item"])
        raise
    return None


class DynamoMessages:
    """Conversation messages (both directions), newest first, and the once-per-id transaction."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    message_item = staticmethod(message_item)
    key_item = staticmethod(key_item)

    def put_first(self, items: list[dict[str, Any]]) -> dict[str, Any] | None:
        return put_first(self.table, items)

    def put_message(self, patient_id: str, message: dict[str, Any]) -> None:
        self.table.put(message_item(patient_id, message))

    def update_message(self, patient_id: str, at: str, message_id: str, status: str, channel: str | None) -> None:
        self.table.update_if(message_key(patient_id, at, message_id), **message_status(status, channel))

    def messages(self, patient_id: str, limit: int, start_key: Any) -> Page:
        return self.table.query(
            "pk = :p AND begins_with(sk, :m)",
            {":p": patient_pk(patient_id), ":m": "MSG#"},
            limit=limit,
            start_key=start_key,
            forward=False,
        )


class DynamoTasks:
    """The ``Tasks`` port: a task for the care team, created once per (deterministic) ``task_id``."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def put_task(self, patient_id: str, task: dict[str, Any]) -> bool:
        """Create a task once (its id is deterministic); False when it already exists."""
        return self.table.put_if_absent(
            {"pk": patient_pk(patient_id), "sk": f"TASK#{task['task_id']}", "entity": "task", **task}
        )
