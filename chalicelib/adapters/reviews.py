"""The care team's "Mark reviewed" on a patient: the last review, and the one before it for an undo.

==========================  ===========================  =================================================
item                        pk / sk                      written by
==========================  ===========================  =================================================
review                      PATIENT#<pid> / REVIEW       "Mark reviewed" and its undo (worklist service)
==========================  ===========================  =================================================

One item per patient, not per clinician: a care team wants to know whether *anyone* looked at the patient, and
who, and when.  ``reviewed_at`` / ``reviewed_by`` are the last review; ``previous_at`` / ``previous_by`` the
state it replaced (``""``: never reviewed), which an undo puts back.

- **Mark** is one conditional UpdateItem: the review the page showed (``seen``, ``""`` for none) must still be
  the last one, so two nurses on the same row do not both "review" it; the loser gets the row as it is now.
  The previous state is copied inside the same update (``if_not_exists``), never read first.
- **Undo** is one conditional UpdateItem: only the reviewer, only the review they made (``reviewed_at``), and
  only once (the previous state is removed as it is put back).
- Both answer the item as it is after the request and whether this request changed it (``changed``), in
  the one request: a refused condition hands the item back, and the write token (``dynamo.with_token``)
  tells a botocore retry of a write that landed from a refusal.

The worklist reads the panel's items with BatchGetItem, 100 keys a request.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import (
    DynamoTable,
    deserialize,
    error_code,
    landed,
    new_write_token,
    serialize,
    throttling_as_503,
    with_token,
)
from chalicelib.adapters.keys import patient_pk

REVIEW_SK = "REVIEW"
NONE = ""  # "never reviewed" as a stored value (a previous state has to be storable)


def review_of(item: dict[str, Any] | None, patient_id: str, changed: bool = False) -> dict[str, Any]:
    """A review item as the service reads it: ``None`` for "never", whatever is stored."""
    item = item or {}
    return {
        "patient_id": patient_id,
        "changed": changed,
        "reviewed_at": item.get("reviewed_at") or None,
        "reviewed_by": item.get("reviewed_by") or None,
        "previous_at": item.get("previous_at") or None,
        "previous_by": item.get("previous_by") or None,
        "has_previous": "previous_at" in item,
    }


class DynamoReviewStore:
    """The ``Reviews`` port (services/worklist.py) on the single table."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def mark(self, patient_id: str, at: str, by: str, seen: str | None) -> dict[str, Any]:
        """Review the patient at ``at`` by ``by`` if the last review is still ``seen`` (None: never reviewed)."""
        condition = "reviewed_at = :seen" if seen else "attribute_not_exists(reviewed_at) OR reviewed_at = :none"
        values = {":at": at, ":by": by, ":none": NONE, ":e": "review", ":p": patient_id}
        if seen:
            values[":seen"] = seen
        return self._update(
            patient_id,
            UpdateExpression=(
                "SET previous_at = if_not_exists(reviewed_at, :none), previous_by = if_not_exists(reviewed_by, :none),"
                " reviewed_at = :at, reviewed_by = :by, entity = :e, patient_id = :p"
            ),
            ConditionExpression=condition,
            ExpressionAttributeValues=serialize(values),
        )

    def undo(self, patient_id: str, reviewed_at: str, by: str) -> dict[str, Any]:
        """Put back the state before ``by``'s review at ``reviewed_at``, if that review is still the last one."""
        return self._update(
            patient_id,
            UpdateExpression="SET reviewed_at = previous_at, reviewed_by = previous_by REMOVE previous_at, previous_by",
            ConditionExpression="reviewed_at = :at AND reviewed_by = :by AND attribute_exists(previous_at)",
            ExpressionAttributeValues=serialize({":at": reviewed_at, ":by": by}),
        )

    def _update(self, patient_id: str, **kwargs: Any) -> dict[str, Any]:
        """A conditional UpdateItem answering the item after it, and whether this request wrote it."""
        token = new_write_token()
        key = serialize({"pk": patient_pk(patient_id), "sk": REVIEW_SK})
        request = with_token({"TableName": self.table.name, "Key": key, **kwargs}, token)
        try:
            with throttling_as_503():
                response = self.table.client.update_item(**request, ReturnValues="ALL_NEW")
        except ClientError as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            found = error.response.get("Item")
            return review_of(deserialize(found) if found else None, patient_id, changed=landed(found, token))
        return review_of(deserialize(response["Attributes"]), patient_id, changed=True)

    def many(self, patient_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The reviews of these patients; a patient nobody has reviewed is left out."""
        found = self.table.batch_get([(patient_pk(pid), REVIEW_SK) for pid in dict.fromkeys(patient_ids)])
        return {str(item["patient_id"]): review_of(item, str(item["patient_id"])) for item in found}
