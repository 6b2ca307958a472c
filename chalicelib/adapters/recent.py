"""Each patient's recent readings in one item, kept by the stream, so the worklist triages a panel without N+1.

==========================  ===========================  =================================================
item                        pk / sk                      written by
==========================  ===========================  =================================================
recent readings             PATIENT#<pid> / RECENT       stream, in the transaction that counts the reading
                                                         in its day bucket (``DynamoSummaryStore.reading_ops``)
==========================  ===========================  =================================================

One string-set attribute per local day, ``d_<yyyy-mm-dd>``, holding the compact record of each reading
measured that day (``chalicelib/domain/triage.py``: ``g|<reading_id>|<day>|<value>``, ``b|...``).  The triage
window is 14 local days; the item keeps 15, so a day is never missing at the edge of a time zone.

- **Idempotent.**  A reading is ``ADD``-ed to its day's set: the stream's redelivery of the same record adds the
  same string again, which changes nothing.
- **Bounded without a read.**  The same update ``REMOVE``-s the day attributes 15 to 45 days before the
  reading's day, so every reading prunes a month of old days behind it.  (A patient silent for more than 45
  days can keep one old day until a reading lands 15-45 days after it; the worklist ignores any day outside
  its window, so such a day costs bytes, never a wrong flag.)
- **History stays out.**  Only readings whose local day is within the last 15 local days (by the time the
  reading was received: the same answer on every redelivery) are added; a device syncing a year of history
  adds nothing here (its readings still reach their day buckets and the patient page).

**Device days of the last 30 local days** (the worklist's "reading days", and the last key of its order)
ride on the same item, so the worklist does not read two RPM months per patient (1,000 keys for a panel of
500, a third of its DynamoDB Local time): ``v_<yyyy-mm-dd>`` marks a local day with a reading that counts as
a device day (chalicelib/domain/billing.py), for readings measured up to 31 local days before the day they
were received; each update removes the marks 31 to 61 days before its reading's day, as it prunes records.

``device_days_from`` says from which local day on the marks are complete.  An enrolment writes the item
with ``0000-01-01`` (the patient has no reading yet, so every reading that will count is marked); a
patient enrolled before the marks existed gets the day after the first update's receipt, and the
worklist counts that patient's days from the RPM months until the whole window is covered.  When the
item cannot grow (the 400 KB case above), the stream moves ``device_days_from`` past the refused
reading's day of receipt (:func:`not_complete_before`).  Deploy order: the stream's code writes the
marks, so it must be deployed with (or before) the enrolment that claims them complete; a rollback of
the stream below this version should be followed by removing ``device_days_from`` from the RECENT items.

The worklist reads the panel's items with BatchGetItem, 100 keys a request.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from botocore.exceptions import ClientError

from chalicelib.adapters.dynamo import DynamoTable, error_code, serialize
from chalicelib.adapters.keys import patient_pk
from chalicelib.domain.triage import Recent

RECENT_SK = "RECENT"
KEEP_DAYS = 15  # local days a reading may lie behind the day it was received and still be added
PRUNE_FROM = 15  # each update removes the days this many ...
PRUNE_TO = 45  # ... to this many days before the reading's day
DAY_PREFIX = "d_"
MARK_PREFIX = "v_"
MARK_DAYS = 31  # local days a device reading may lie behind the day it was received and still be marked
UNMARK_FROM = 31  # each update removes the marks this many ...
UNMARK_TO = 61  # ... to this many days before the reading's day
MARKS_FROM = "device_days_from"
EVERY_DAY = "0000-01-01"  # device_days_from of a patient enrolled with the marks: complete from the start


def day_attribute(day: str) -> str:
    return f"{DAY_PREFIX}{day}"


def is_recent(day: str, today: str) -> bool:
    """Whether a reading of local ``day`` belongs in the item when its local day of receipt is ``today``.

    A day after ``today`` (a reading measured minutes ahead of the server's clock) is recent.
    """
    return day >= (date.fromisoformat(today) - timedelta(days=KEEP_DAYS - 1)).isoformat()


def is_marked(day: str, today: str) -> bool:
    """Whether a device reading of local ``day`` marks its day when its local day of receipt is ``today``."""
    return day >= (date.fromisoformat(today) - timedelta(days=MARK_DAYS - 1)).isoformat()


def add_op(
    table_name: str, patient_id: str, day: str, received_day: str, record: str | None, device_day: bool
) -> dict[str, Any]:
    """The transaction's Update that adds ``record`` to its day (pruning the days 15-45 before it) and, for
    a device day, marks the day (removing the marks 31-61 days before it).

    Every update also says the marks are complete from the day after ``received_day`` (the reading's local
    day of receipt), unless the item already says since when: from then on every device reading is marked.
    """
    first = date.fromisoformat(day)
    names: dict[str, str] = {"#f": MARKS_FROM}
    since = (date.fromisoformat(received_day) + timedelta(days=1)).isoformat()
    values: dict[str, Any] = serialize({":e": "recent_readings", ":p": patient_id, ":f": since})
    sets = ["entity = :e", "patient_id = :p", "#f = if_not_exists(#f, :f)"]
    removes: list[str] = []
    adds: list[str] = []
    if record is not None:
        names["#d"] = day_attribute(day)
        values[":r"] = {"SS": [record]}
        adds.append("#d :r")
        for n in range(PRUNE_FROM, PRUNE_TO + 1):
            names[f"#o{n}"] = day_attribute((first - timedelta(days=n)).isoformat())
            removes.append(f"#o{n}")
    if device_day:
        names["#v"] = MARK_PREFIX + day
        values.update(serialize({":one": 1}))
        sets.append("#v = :one")
        for n in range(UNMARK_FROM, UNMARK_TO + 1):
            names[f"#u{n}"] = MARK_PREFIX + (first - timedelta(days=n)).isoformat()
            removes.append(f"#u{n}")
    expression = (f"ADD {', '.join(adds)} " if adds else "") + f"SET {', '.join(sets)}"
    if removes:
        expression += f" REMOVE {', '.join(removes)}"
    return {
        "Update": {
            "TableName": table_name,
            "Key": serialize({"pk": patient_pk(patient_id), "sk": RECENT_SK}),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def enrolment_op(table_name: str, patient_id: str) -> dict[str, Any]:
    """The enrolment transaction's Update: a new patient's marks are complete from the start."""
    return {
        "Update": {
            "TableName": table_name,
            "Key": serialize({"pk": patient_pk(patient_id), "sk": RECENT_SK}),
            "UpdateExpression": "SET entity = :e, patient_id = :p, #f = if_not_exists(#f, :f)",
            "ExpressionAttributeNames": {"#f": MARKS_FROM},
            "ExpressionAttributeValues": serialize({":e": "recent_readings", ":p": patient_id, ":f": EVERY_DAY}),
        }
    }


def recent_of(item: dict[str, Any]) -> Recent:
    marks = frozenset(name[len(MARK_PREFIX) :] for name in item if name.startswith(MARK_PREFIX))
    since = item.get(MARKS_FROM)
    return Recent(records_of(item), marks, str(since) if since else None)


def records_of(item: dict[str, Any]) -> list[str]:
    """Every record string of a RECENT item, day by day (a string set reads as a set or a list)."""
    found: list[str] = []
    for name in sorted(item):
        if name.startswith(DAY_PREFIX):
            found.extend(sorted(str(r) for r in item[name] or ()))
    return found


class DynamoRecentReadings:
    """The ``RecentReadings`` port (services/worklist.py) on the single table."""

    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def add(
        self, patient_id: str, day: str, record: str | None, device_day: bool = False, received_day: str | None = None
    ) -> None:
        """Add one record (or mark) on its own (the stream adds it inside its reading transaction instead)."""
        op = add_op(self.table.name, patient_id, day, received_day or day, record, device_day)
        self.table.transact([op])

    def enrol(self, patient_id: str) -> None:
        """What an enrolment writes (inside its own transaction): marks complete from the start."""
        self.table.transact([enrolment_op(self.table.name, patient_id)])

    def forget_marks(self, patient_id: str, received_day: str) -> None:
        """The item could not take a reading received on ``received_day``: marks complete from the day after."""
        not_complete_before(self.table, patient_id, received_day)

    def recent(self, patient_ids: list[str]) -> dict[str, list[str]]:
        """The records of each patient's item, by patient; a patient without an item is left out."""
        return {pid: item.records for pid, item in self.items(patient_ids).items()}

    def items(self, patient_ids: list[str]) -> dict[str, Recent]:
        """Each patient's item (records, device-day marks), by patient; a patient without an item is left out."""
        found = self.table.batch_get([(patient_pk(pid), RECENT_SK) for pid in dict.fromkeys(patient_ids)])
        return {str(item["pk"]).split("#", 1)[1]: recent_of(item) for item in found}  # the key names the patient


def not_complete_before(table: DynamoTable, patient_id: str, received_day: str) -> None:
    """Move ``device_days_from`` to the day after ``received_day``, never back (the item must exist).

    The reading that could not be marked was measured on or before the day it was received, so the marks
    are complete from the day after, if every later reading is marked; a later refusal moves it on again,
    and a redelivered older reading never moves it back (its update sets ``device_days_from`` only where
    there is none).  At the very limit, where even that SET would grow the item too far, the attribute
    is removed instead (a REMOVE only shrinks an item): the worklist then reads the months for the patient.
    """
    after = (date.fromisoformat(received_day) + timedelta(days=1)).isoformat()
    key = serialize({"pk": patient_pk(patient_id), "sk": RECENT_SK})
    try:
        table.client.update_item(
            TableName=table.name,
            Key=key,
            UpdateExpression="SET #f = :f",
            ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(#f) OR #f < :f)",
            ExpressionAttributeNames={"#f": MARKS_FROM},
            ExpressionAttributeValues=serialize({":f": after}),
        )
    except table.client.exceptions.ConditionalCheckFailedException:
        return  # no item, or complete from later already
    except ClientError as error:
        if error_code(error) != "ValidationException":
            raise
        table.client.update_item(
            TableName=table.name, Key=key, UpdateExpression="REMOVE #f", ExpressionAttributeNames={"#f": MARKS_FROM}
        )
