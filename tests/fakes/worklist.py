"""In-memory fakes of the worklist's own ports: ``RecentReadings`` and ``Reviews`` (chalicelib/services/worklist.py).

``FakeRecentReadings`` keeps what ``DynamoRecentReadings`` keeps: one set of record strings per local day, a
record added twice is there once, and each addition drops the days 15 to 45 days before its own.
``FakeReviewStore`` keeps what ``DynamoReviewStore`` keeps: the last review and the one before it, a mark only
over the review the caller saw, an undo only by the reviewer, of that review, once.
``tests/contract/test_recent_readings.py`` and ``test_reviews.py`` run the same suites on these and the adapters.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta
from typing import Any

from chalicelib.adapters.recent import PRUNE_FROM, PRUNE_TO
from chalicelib.adapters.reviews import NONE, review_of

Record = dict[str, Any]


class FakeRecentReadings:
    def __init__(self) -> None:
        self.days: dict[str, dict[str, set[str]]] = {}  # patient -> local day -> records

    def add(self, patient_id: str, day: str, record: str) -> None:
        days = self.days.setdefault(patient_id, {})
        days.setdefault(day, set()).add(record)
        first = date.fromisoformat(day)
        for n in range(PRUNE_FROM, PRUNE_TO + 1):
            days.pop((first - timedelta(days=n)).isoformat(), None)

    def recent(self, patient_ids: list[str]) -> dict[str, list[str]]:
        return {
            pid: [r for day in sorted(self.days[pid]) for r in sorted(self.days[pid][day])]
            for pid in dict.fromkeys(patient_ids)
            if pid in self.days
        }


class FakeReviewStore:
    def __init__(self) -> None:
        self.items: dict[str, Record] = {}

    def mark(self, patient_id: str, at: str, by: str, seen: str | None) -> Record:
        item = self.items.get(patient_id)
        current = (item or {}).get("reviewed_at", NONE)
        changed = current == (seen or NONE)
        if changed:
            before = item or {}
            self.items[patient_id] = {
                "previous_at": before.get("reviewed_at", NONE),
                "previous_by": before.get("reviewed_by", NONE),
                "reviewed_at": at,
                "reviewed_by": by,
            }
        return review_of(copy.deepcopy(self.items.get(patient_id)), patient_id, changed)

    def undo(self, patient_id: str, reviewed_at: str, by: str) -> Record:
        item = self.items.get(patient_id)
        changed = bool(item) and (item or {}).get("reviewed_at") == reviewed_at
        changed = changed and (item or {}).get("reviewed_by") == by and "previous_at" in (item or {})
        if item and changed:
            self.items[patient_id] = {"reviewed_at": item["previous_at"], "reviewed_by": item["previous_by"]}
        return review_of(copy.deepcopy(self.items.get(patient_id)), patient_id, changed)

    def many(self, patient_ids: list[str]) -> dict[str, Record]:
        return {pid: review_of(copy.deepcopy(self.items[pid]), pid) for pid in patient_ids if pid in self.items}
