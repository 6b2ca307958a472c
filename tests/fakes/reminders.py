"""In-memory fakes of the reminder ports (chalicelib/services/reminders.py): ``ReminderStore``, ``MeasurementPlans``.

``FakeReminderStore`` keeps what ``DynamoReminderStore`` keeps and refuses what its
conditional writes refuse: a reminder id is taken while it is live (a deleted one may be
used again); ``advance`` and ``missed_step`` act only while the due time the tick read still
stands; a dose is recorded once per occurrence and closed once; a reading restarts a watch
only when it is newer than the anchor.  A deleted reminder stays as a tombstone, off the due
index, its first deletion time kept.  Reminders list in reminder-id order, doses by due time
then reminder id, between two times inclusive (as the sort key ``DOSE#<due_at>#<rid>`` orders
and bounds them).  Everything read is a copy without nulls.  ``due`` plays the due index: what
the tick would hand over.  ``tests/contract/test_reminder_store.py`` runs the same suite on this
fake and on the adapter.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.domain.timeutil import iso
from chalicelib.resources import DUE_SHARDS
from tests.fakes import FakePatients, as_read

Record = dict[str, Any]

# What a replace never writes: the store's own bookkeeping (the due time follows next_due_at).
_KEPT = frozenset({"due_at", "unanswered", "deleted_at"})


def _due(record: Record) -> str | None:
    return record["next_due_at"] if record.get("active") and record.get("next_due_at") else None


def _shard(key: str) -> str:
    """The ordinary due shard of a stable key (as ``adapters.due_index.due_shard`` places it)."""
    return f"DUE#{int(hashlib.sha256(key.encode()).hexdigest(), 16) % DUE_SHARDS:02d}"


def _dose_key(dose: Record) -> str:
    return f"DOSE#{dose['due_at']}#{dose['reminder_id']}"


class FakeReminderStore:
    """The ``ReminderStore`` port: reminders, their doses and the missed-readings watches."""

    def __init__(self) -> None:
        self.reminders: dict[tuple[str, str], Record] = {}  # (patient, reminder) -> reminder
        self.watches: dict[str, Record] = {}  # patient -> missed-readings watch
        self.doses: dict[tuple[str, str], Record] = {}  # (patient, DOSE#<due_at>#<rid>) -> dose

    # -- reminders -----------------------------------------------------------------------

    def create(self, record: Record) -> bool:
        key = (record["patient_id"], record["reminder_id"])
        stored = self.reminders.get(key)
        if stored is not None and "deleted_at" not in stored:
            return False
        item = as_read({"unanswered": 0, **record})
        item.pop("due_at", None)
        if due := _due(record):
            item["due_at"] = due
        self.reminders[key] = item
        return True

    def replace(self, record: Record) -> None:
        stored = self.reminders.get((record["patient_id"], record["reminder_id"]))
        if stored is None or "deleted_at" in stored:
            return  # gone, or deleted since it was read: it stays deleted
        for key, value in record.items():
            if key in _KEPT:
                continue
            if value is None:
                stored.pop(key, None)
            else:
                stored[key] = as_read(value)
        stored.pop("due_at", None)
        if due := _due(record):
            stored["due_at"] = due

    def count_live(self, patient_id: str) -> int:
        return len(self.of_patient(patient_id))

    def get(self, patient_id: str, reminder_id: str, include_deleted: bool = False) -> Record | None:
        stored = self.reminders.get((patient_id, reminder_id))
        if stored is None or ("deleted_at" in stored and not include_deleted):
            return None
        return copy.deepcopy(stored)

    def of_patient(self, patient_id: str) -> list[Record]:
        return [
            copy.deepcopy(r)
            for (pid, _), r in sorted(self.reminders.items())
            if pid == patient_id and "deleted_at" not in r
        ]

    def delete(self, patient_id: str, reminder_id: str, at: str) -> None:
        stored = self.reminders.get((patient_id, reminder_id))
        if stored is None:
            return
        stored.setdefault("deleted_at", at)
        stored["active"] = False
        for key in ("due_at", "next_due_at"):
            stored.pop(key, None)

    def advance(self, item: Record, fired_at: str, next_due: str | None) -> bool:
        stored = self.reminders.get((item["patient_id"], item["reminder_id"]))
        if stored is None or "due_at" not in stored or stored["due_at"] != item["due_at"]:
            return False
        stored["last_fired_at"] = fired_at
        stored["unanswered"] = int(stored["unanswered"]) + 1
        if next_due:
            stored["due_at"] = stored["next_due_at"] = next_due
        else:
            stored.pop("due_at", None)
            stored.pop("next_due_at", None)
        return True

    def answered(self, patient_id: str, reminder_id: str) -> None:
        stored = self.reminders.get((patient_id, reminder_id))
        if stored is not None:
            stored["unanswered"] = 0

    # -- missed readings -----------------------------------------------------------------

    def track_missed(self, patient_id: str, anchor: str, due_at: str) -> None:
        self.watches.setdefault(patient_id, {"patient_id": patient_id, "anchor": anchor, "stage": 0, "due_at": due_at})

    def reading_seen(self, patient_id: str, measured_at: str, due_at: str) -> None:
        watch = self.watches.get(patient_id)
        if watch is not None and watch["anchor"] < measured_at:
            watch.update(anchor=measured_at, stage=0, due_at=due_at)

    def missed_step(self, item: Record, stage: int, next_due: str | None) -> bool:
        watch = self.watches.get(item["patient_id"])
        if watch is None or "due_at" not in watch or watch["due_at"] != item["due_at"]:
            return False
        watch["stage"] = stage
        if next_due:
            watch["due_at"] = next_due
        else:
            watch.pop("due_at")
        return True

    def watch(self, patient_id: str) -> Record | None:
        """The patient's watch as stored (a test's look behind the port)."""
        return copy.deepcopy(self.watches.get(patient_id))

    # -- doses ---------------------------------------------------------------------------

    def create_dose(self, dose: Record) -> bool:
        key = (dose["patient_id"], _dose_key(dose))
        if key in self.doses:
            return False
        self.doses[key] = as_read(dict(dose))
        return True

    def doses_between(self, patient_id: str, start: str, end: str) -> list[Record]:
        low, high = f"DOSE#{start}", f"DOSE#{end}~"
        return [
            copy.deepcopy(d) for (pid, sk), d in sorted(self.doses.items()) if pid == patient_id and low <= sk <= high
        ]

    def mark_done(self, dose: Record, at: str, how: str) -> bool:
        stored = self.doses.get((dose["patient_id"], _dose_key(dose)))
        if stored is None or stored.get("status") != "due":
            return False
        stored.update(status="done", done_at=at, done_by=how)
        return True

    # -- the due index -------------------------------------------------------------------

    PAGE = 25

    def _due_items(self, now: datetime) -> list[Record]:
        items = [
            {**copy.deepcopy(r), "entity": "reminder", "due_shard": _shard(f"reminder:{pid}:{rid}")}
            for (pid, rid), r in self.reminders.items()
            if r.get("due_at", "~") <= iso(now)
        ]
        items += [
            {**copy.deepcopy(w), "entity": "missed", "due_shard": _shard(f"missed:{pid}")}
            for pid, w in self.watches.items()
            if w.get("due_at", "~") <= iso(now)
        ]
        return sorted(items, key=lambda i: i["due_at"])

    def due_pages(self, shard: int | str, now: datetime) -> Iterator[list[Record]]:
        """The ``DueIndex`` port (services/scheduler.py): what the tick's Query of ``shard`` finds at ``now``."""
        key = shard if isinstance(shard, str) else f"DUE#{shard:02d}"
        items = [i for i in self._due_items(now) if i["due_shard"] == key]
        for start in range(0, len(items), self.PAGE):
            yield items[start : start + self.PAGE]

    def due(self, now: datetime) -> list[Record]:
        """Everything due at ``now`` on any shard (reminders and watches), soonest first, as the tick hands it over."""
        return self._due_items(now)


class FakeMeasurementPlans:
    """The ``MeasurementPlans`` port over the patients' records (``DynamoPatientStore.mark_measurement_plan``)."""

    def __init__(self, patients: FakePatients) -> None:
        self._patients = patients

    def mark_measurement_plan(self, patient_id: str) -> None:
        record = self._patients.records.get(patient_id)
        if record is not None:
            record["measurement_plan"] = True

    def get(self, patient_id: str) -> Record | None:
        return self._patients.get(patient_id)
