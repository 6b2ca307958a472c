"""DynamoDB repository for readings.

A reading's key comes from its ``reading_id`` alone, so one conditional put
stores it exactly once; when the key exists, DynamoDB hands back the stored
item in the same call (``ReturnValuesOnConditionCheckFailure``), which is all
a replay needs.  Time order comes from the ``lsi1`` index
(``READING#<type>#<measured_at>#<id>``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, get_args

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import DynamoTable, Page, deserialize, error_code
from chalicelib.adapters.stores import patient_pk
from chalicelib.domain.errors import ThrottledError
from chalicelib.domain.readings import Reading

# The reading types as the domain names them; each has its own range of the lsi1 index.
TYPES: tuple[str, ...] = get_args(Reading.model_fields["type"].annotation)
TRANSACTION_ATTEMPTS = 4


def reading_sk(reading_id: str) -> str:
    return f"READING#{reading_id}"


def time_key(reading_type: str, measured_at: str, reading_id: str = "") -> str:
    return f"READING#{reading_type}#{measured_at}#{reading_id}"


class DynamoReadingStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def keyed(self, record: dict[str, Any]) -> dict[str, Any]:
        return {
            "pk": patient_pk(record["patient_id"]),
            "sk": reading_sk(record["reading_id"]),
            "lsi1sk": time_key(record["type"], record["measured_at"], record["reading_id"]),
            "entity": "reading",
            **record,
        }

    def put_new(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """Store ``record`` unless its key exists; return the existing item if it does.

        A botocore retry of this very put (its first attempt landed) counts as stored.
        """
        return self.table.put_checked(self.keyed(record), "attribute_not_exists(pk)")

    def put_many_new(self, records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Store every record whose key is free, atomically per call; return {reading_id: existing item}.

        One TransactWriteItems of up to 100 conditional puts.  When some keys
        exist the transaction is cancelled, DynamoDB names them (with their
        stored items), and the rest are written again without them.
        """
        existing: dict[str, dict[str, Any]] = {}
        pending = list(records)
        attempts = 0
        while pending:
            ops = [self.table.put_op(self.keyed(r), "attribute_not_exists(pk)") for r in pending]
            try:
                self.table.transact(ops)  # a retry of a transaction that landed counts as written
                return existing
            except ClientError as error:
                if error_code(error) != "TransactionCanceledException":
                    raise
                reasons = error.response.get("CancellationReasons") or []
                failed = [
                    (record, reason)
                    for record, reason in zip(pending, reasons, strict=False)
                    if reason.get("Code") == "ConditionalCheckFailed"
                ]
                if failed:
                    for record, reason in failed:
                        existing[record["reading_id"]] = deserialize(reason.get("Item") or {})
                    done = {r["reading_id"] for r, _ in failed}
                    pending = [r for r in pending if r["reading_id"] not in done]
                    continue
                # TransactionConflict or throttling inside the transaction: back off and retry.
                attempts += 1
                if attempts >= TRANSACTION_ATTEMPTS:
                    raise ThrottledError("The service is busy; retry shortly.", retry_after_seconds=2) from error
                time.sleep(0.05 * 2**attempts)
        return existing

    def glucose_between(self, patient_id: str, start: str, end: str) -> list[dict[str, Any]]:
        """Glucose readings measured in [start, end] (UTC ISO strings); one Query (pages only past 1 MB)."""
        return self.table.query_all(
            "pk = :p AND lsi1sk BETWEEN :a AND :b",
            {
                ":p": patient_pk(patient_id),
                ":a": time_key("blood_glucose", start),
                ":b": time_key("blood_glucose", end, "~"),
            },
            index="lsi1",
        )

    def page(
        self,
        patient_id: str,
        reading_type: str,
        start: str,
        end: str,
        limit: int,
        start_key: dict[str, Any] | None,
    ) -> Page:
        """Newest first, within [start, end] measured times."""
        return self.table.query(
            "pk = :p AND lsi1sk BETWEEN :a AND :b",
            {
                ":p": patient_pk(patient_id),
                ":a": time_key(reading_type, start),
                ":b": time_key(reading_type, end, "~"),
            },
            index="lsi1",
            limit=limit,
            start_key=start_key,
            forward=False,
        )

    def after(self, record: dict[str, Any]) -> dict[str, Any]:
        """The ExclusiveStartKey (lsi1) of the page that continues right after ``record``."""
        keyed = self.keyed(record)
        return {name: {"S": keyed[name]} for name in ("pk", "sk", "lsi1sk")}

    def every(self, patient_id: str) -> Iterator[dict[str, Any]]:
        """All of a patient's readings, oldest first per type, a Query page at a time (for export)."""
        for reading_type in TYPES:
            yield from self.table.query_each(
                "pk = :p AND begins_with(lsi1sk, :t)",
                {":p": patient_pk(patient_id), ":t": f"READING#{reading_type}#"},
                index="lsi1",
                # A page of 1,000 (about 250 KB) rather than DynamoDB's 1 MB: an export refused at its
                # budget stops having read at most one such page more than it needed.
                limit=1000,
            )
