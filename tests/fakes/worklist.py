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

from chalicelib.adapters.recent import EVERY_DAY, PRUNE_FROM, PRUNE_TO, UNMARK_FROM, UNMARK_TO
from chalicelib.adapters.reviews import NONE, review_of
from chalicelib.domain.triage import Recent

Record = dict[str, Any]


class FakeRecentReadings:
    def __init__(self) -> None:
        self.days: dict[str, dict[str, set[str]]] = {}  # patient -> local day -> records
        self.marks: dict[str, set[str]] = {}  # patient -> device days
        self.since: dict[str, str] = {}  # patient -> device_days_from

    def add(
        self, patient_id: str, day: str, record: str | None, device_day: bool = False, received_day: str | None = None
    ) -> None:
        days = self.days.setdefault(patient_id, {})
        first = date.fromisoformat(day)
        if record is not None:
            days.setdefault(day, set()).add(record)
            for n in range(PRUNE_FROM, PRUNE_TO + 1):
                days.pop((first - timedelta(days=n)).isoformat(), None)
        if device_day:
            marks = self.marks.setdefault(patient_id, set())
            marks.add(day)
            marks -= {(first - timedelta(days=n)).isoformat() for n in range(UNMARK_FROM, UNMARK_TO + 1)}
        received = date.fromisoformat(received_day or day)
        self.since.setdefault(patient_id, (received + timedelta(days=1)).isoformat())

    def enrol(self, patient_id: str) -> None:
        self.days.setdefault(patient_id, {})
        self.since.setdefault(patient_id, EVERY_DAY)

    def forget_marks(self, patient_id: str, received_day: str) -> None:
        after = (date.fromisoformat(received_day) + timedelta(days=1)).isoformat()
        if patient_id in self.days and self.since.get(patient_id, "") < after:
            self.since[patient_id] = after

    def recent(self, patient_ids: list[str]) -> dict[str, list[str]]:
        return {pid: item.records for pid, item in self.items(patient_ids).items()}

    def items(self, patient_ids: list[str]) -> dict[str, Recent]:
        return {
            pid: Recent(
                [r for day in sorted(self.days[pid]) for r in sorted(self.days[pid][day])],
                frozenset(self.marks.get(pid, ())),
                self.since.get(pid),
            )
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
