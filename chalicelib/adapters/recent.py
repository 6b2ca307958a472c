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

The worklist reads the panel's items with BatchGetItem, 100 keys a request.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from chalicelib.adapters.dynamo import DynamoTable, serialize
from chalicelib.adapters.keys import patient_pk

RECENT_SK = "RECENT"
KEEP_DAYS = 15  # local days a reading may lie behind the day it was received and still be added
PRUNE_FROM = 15  # each update removes the days this many ...
PRUNE_TO = 45  # ... to this many days before the reading's day
DAY_PREFIX = "d_"


def day_attribute(day: str) -> str:
    return f"{DAY_PREFIX}{day}"


def is_recent(day: str, today: str) -> bool:
    """Whether a reading of local ``day`` belongs in the item when its local day of receipt is ``today``.

    A day after ``today`` (a reading measured minutes ahead of the server's clock) is recent.
    """
    return day >= (date.fromisoformat(today) - timedelta(days=KEEP_DAYS - 1)).isoformat()


def add_op(table_name: str, patient_id: str, day: str, record: str) -> dict[str, Any]:
    """The transaction's Update that adds ``record`` to its day and prunes the days 15-45 before it."""
    first = date.fromisoformat(day)
    names = {"#d": day_attribute(day)}
    old: list[str] = []
    for n in range(PRUNE_FROM, PRUNE_TO + 1):
        names[f"#o{n}"] = day_attribute((first - timedelta(days=n)).isoformat())
        old.append(f"#o{n}")
    return {
        "Update": {
            "TableName": table_name,
            "Key": serialize({"pk": patient_pk(patient_id), "sk": RECENT_SK}),
            "UpdateExpression": f"ADD #d :r SET entity = :e, patient_id = :p REMOVE {', '.join(old)}",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": {
                ":r": {"SS": [record]},
                **serialize({":e": "recent_readings", ":p": patient_id}),
            },
        }
    }


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

    def add_op(self, patient_id: str, day: str, record: str) -> dict[str, Any]:
        return add_op(self.table.name, patient_id, day, record)

    def add(self, patient_id: str, day: str, record: str) -> None:
        """Add one record on its own (the stream adds it inside its reading transaction instead)."""
        self.table.transact([self.add_op(patient_id, day, record)])

    def recent(self, patient_ids: list[str]) -> dict[str, list[str]]:
        """The records of each patient's item, by patient; a patient without an item is left out."""
        found = self.table.batch_get([(patient_pk(pid), RECENT_SK) for pid in dict.fromkeys(patient_ids)])
        return {str(item["patient_id"]): records_of(item) for item in found}
