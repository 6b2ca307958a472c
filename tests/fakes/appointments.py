"""Fakes of the appointment service's ports (``chalicelib/services/appointments.py``): ``AppointmentStore``.

``FakeAppointmentStore`` keeps what ``DynamoAppointmentStore`` keeps and refuses
what its conditional puts refuse: a second ``create`` of an id, a ``save`` of an
appointment changed since it was read (or never stored).  It is also the due
index for appointments (the ``DueIndex`` port of ``services/scheduler.py``): an
open appointment with an unsent reminder is found on the ordinary shard its ids
hash to, from its earliest unsent reminder on, as entity ``appointment``.
``tests/contract/test_appointment_store.py`` runs one suite on it and on the adapter.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.domain.timeutil import iso
from chalicelib.resources import DUE_SHARDS
from tests.fakes import as_read

Record = dict[str, Any]

OPEN = ("scheduled", "confirmed", "reschedule_requested")
# What the table adds to an appointment's fields (and a save rebuilds).
STORAGE = ("pk", "sk", "entity", "due_shard", "due_at", "write_token")


def appointment_shard(patient_id: str, appointment_id: str) -> str:
    """The ordinary due shard of an appointment (as ``adapters.due_index.due_shard`` places it)."""
    key = f"appt:{patient_id}:{appointment_id}"
    return f"DUE#{int(hashlib.sha256(key.encode()).hexdigest(), 16) % DUE_SHARDS:02d}"


class FakeAppointmentStore:
    """The ``AppointmentStore`` port in memory, and the due index of its appointments."""

    PAGE = 25

    def __init__(self) -> None:
        self.appointments: dict[tuple[str, str], Record] = {}
        self.writes = 0

    @staticmethod
    def _fields(record: Record) -> Record:
        stored: Record = as_read({k: v for k, v in record.items() if k not in STORAGE})
        return stored

    def create(self, record: Record) -> bool:
        key = (record["patient_id"], record["appointment_id"])
        if key in self.appointments:
            return False
        self.appointments[key] = self._fields(record)
        self.writes += 1
        return True

    def save(self, record: Record, expected_updated_at: str) -> bool:
        key = (record["patient_id"], record["appointment_id"])
        stored = self.appointments.get(key)
        if stored is None or stored.get("updated_at") != expected_updated_at:
            return False
        self.appointments[key] = self._fields(record)
        self.writes += 1
        return True

    def get(self, patient_id: str, appointment_id: str) -> Record | None:
        found = self.appointments.get((patient_id, appointment_id))
        return copy.deepcopy(found) if found is not None else None

    def of_patient(self, patient_id: str) -> list[Record]:
        return [copy.deepcopy(a) for (pid, _), a in sorted(self.appointments.items()) if pid == patient_id]

    # -- the due index -------------------------------------------------------------------

    @staticmethod
    def due_at(record: Record) -> str | None:
        """Where the appointment sits on the due index: its earliest unsent reminder while open, else nowhere."""
        pending = [r["due_at"] for r in record["reminders"] if not r["sent"]]
        return min(pending) if pending and record["status"] in OPEN else None

    def due_pages(self, shard: int | str, now: datetime) -> Iterator[list[Record]]:
        key = shard if isinstance(shard, str) else f"DUE#{shard:02d}"
        items = []
        for (pid, aid), record in self.appointments.items():
            due_at = self.due_at(record)
            if due_at is not None and due_at <= iso(now) and appointment_shard(pid, aid) == key:
                items.append({**copy.deepcopy(record), "entity": "appointment", "due_shard": key, "due_at": due_at})
        items.sort(key=lambda i: i["due_at"])
        for start in range(0, len(items), self.PAGE):
            yield items[start : start + self.PAGE]
