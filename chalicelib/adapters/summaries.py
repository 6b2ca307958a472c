"""Per-patient summaries kept on write and read by the 360° view.

==========================  ==============================================  ==========================
item                        pk / sk                                          written by
==========================  ==============================================  ==========================
daily reading bucket        PATIENT#<pid> / DAY#<type>#<local yyyy-mm-dd>   stream, one per reading
RPM month                   PATIENT#<pid> / RPM#<local yyyy-mm>             stream (device days),
                                                                             care-time entries
care-time entry             PATIENT#<pid> / CARE#<entry_id>                 POST care-time
recent readings             PATIENT#<pid> / RECENT                          stream (adapters/recent.py)
==========================  ==============================================  ==========================

A bucket holds one attribute ``r_<reading_id>`` per reading, so the stream's
redelivery of a record rewrites the same attribute instead of counting twice.
Device days are a string set (``ADD`` is idempotent for the same day).  A
care-time entry and its minutes land in one transaction guarded by the entry's
absence, so a retried POST adds nothing.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters import recent as recent_readings
from chalicelib.adapters.dynamo import DynamoTable, serialize
from chalicelib.adapters.stores import _cancelled_by_condition, patient_pk


def rpm_sk(month: str) -> str:
    return f"RPM#{month}"


class DynamoSummaryStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    # -- daily reading buckets -------------------------------------------------------

    def reading_ops(
        self,
        patient_id: str,
        reading_type: str,
        day: str,
        reading_id: str,
        value: Any,
        device_day: bool,
        recent: str | None = None,
        marked: bool = False,
        received_day: str | None = None,
    ) -> list[dict[str, Any]]:
        """Transaction operations that count one reading in its local day (and, from a device, its month).

        The stream writes them in the same transaction as the reading's audit record and timeline
        entry: one request, and a redelivered record (whose audit record exists) changes nothing.
        With ``recent`` (the reading's triage record, chalicelib/domain/triage.py), the reading also
        joins the patient's RECENT item (adapters/recent.py), which the worklist triages; ``marked``
        marks its day as a device day there (both need ``received_day``, the local day of receipt).
        """
        ops = [
            self._update(
                {"pk": patient_pk(patient_id), "sk": f"DAY#{reading_type}#{day}"},
                "SET #r = :v, entity = :e, #d = :d",
                {"#r": f"r_{reading_id}", "#d": "date"},
                serialize({":v": value, ":e": "day", ":d": day}),
            )
        ]
        if device_day:
            month = day[:7]
            ops.append(
                self._update(
                    {"pk": patient_pk(patient_id), "sk": rpm_sk(month)},
                    "ADD device_days :day SET entity = :e, patient_id = :p, #m = :m",
                    {"#m": "month"},
                    {":day": {"SS": [day]}, **serialize({":e": "rpm_month", ":p": patient_id, ":m": month})},
                )
            )
        if recent is not None or marked:
            ops.append(recent_readings.add_op(self.table.name, patient_id, day, received_day or day, recent, marked))
        return ops

    def forget_device_marks(self, patient_id: str, received_day: str) -> None:
        """The RECENT item could not take a reading received on ``received_day``: its marks are complete from
        the day after at the earliest (adapters/recent.py)."""
        recent_readings.not_complete_before(self.table, patient_id, received_day)

    def _update(
        self, key: dict[str, Any], expression: str, names: dict[str, str], values: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table.name,
                "Key": serialize(key),
                "UpdateExpression": expression,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def days(self, patient_id: str, reading_type: str, first: str, last: str) -> list[dict[str, Any]]:
        """The buckets of local days ``first``..``last``: one Query (a 90-day window is far below 1 MB)."""
        return self.table.query_all(
            "pk = :pk AND sk BETWEEN :lo AND :hi",
            {":pk": patient_pk(patient_id), ":lo": f"DAY#{reading_type}#{first}", ":hi": f"DAY#{reading_type}#{last}"},
        )

    # -- RPM months --------------------------------------------------------------------

    def add_care_time(self, entry: dict[str, Any]) -> bool:
        """Store the entry and add its minutes to its month; False when the entry already exists."""
        update: dict[str, Any] = {
            "TableName": self.table.name,
            "Key": serialize({"pk": patient_pk(entry["patient_id"]), "sk": rpm_sk(entry["month"])}),
            "UpdateExpression": (
                "ADD care_minutes :m, interactive_entries :i SET entity = :e, patient_id = :p, #m = :mo"
            ),
            "ExpressionAttributeNames": {"#m": "month"},
            "ExpressionAttributeValues": serialize(
                {
                    ":m": entry["minutes"],
                    ":i": 1 if entry["interactive"] else 0,
                    ":e": "rpm_month",
                    ":p": entry["patient_id"],
                    ":mo": entry["month"],
                }
            ),
        }
        item = {
            "pk": patient_pk(entry["patient_id"]),
            "sk": f"CARE#{entry['entry_id']}",
            "entity": "care_time",
            **entry,
        }
        try:
            self.table.transact([self.table.put_op(item, "attribute_not_exists(pk)"), {"Update": update}])
        except ClientError as error:
            if _cancelled_by_condition(error):
                return False
            raise
        return True

    def care_time(self, patient_id: str, entry_id: str) -> dict[str, Any] | None:
        return self.table.get(patient_pk(patient_id), f"CARE#{entry_id}")

    def months(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], dict[str, Any]]:
        """RPM month items for (patient_id, month) pairs: BatchGetItem, 100 keys per request."""
        found = self.table.batch_get([(patient_pk(pid), rpm_sk(month)) for pid, month in keys])
        return {(item["patient_id"], item["month"]): item for item in found}
