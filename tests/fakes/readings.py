"""Fakes of the reading service's ports (``chalicelib/services/readings.py``): ``ReadingStore``, ``PatientAccess``.

``FakeReadingStore`` extends the alert service's ``FakeReadings`` (the same
stored records, so an alert test and a reading test can share one) with what
``DynamoReadingStore`` does on writes: a reading is stored once per id and a
second put hands back the stored record without writing; a batch stores the
free ids and names the taken ones.  ``tests/contract/test_reading_store.py``
runs the same suite on this fake and on the adapter.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from chalicelib.services.readings import TYPES
from tests.fakes import FakeReadings

Record = dict[str, Any]

# DynamoDB's TransactWriteItems takes at most 100 operations, and refuses two on one item.
TRANSACTION_LIMIT = 100


class FakeReadingStore(FakeReadings):
    """The ``ReadingStore`` port: ``AlertReadings`` plus conditional writes, resume positions and export."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0  # puts that stored a reading (a refused put writes nothing)
        self.exported = 0  # readings handed out by every()

    def put_new(self, record: Record) -> Record | None:
        stored = self._readings.get((record["patient_id"], record["reading_id"]))
        if stored is not None:
            return copy.deepcopy(stored)
        self.put(record)
        self.writes += 1
        return None

    def put_many_new(self, records: list[Record]) -> dict[str, Record]:
        keys = [(r["patient_id"], r["reading_id"]) for r in records]
        if len(records) > TRANSACTION_LIMIT or len(set(keys)) != len(keys):
            raise ValueError("a transaction takes at most 100 distinct items")  # DynamoDB's ValidationException
        existing = {key[1]: copy.deepcopy(self._readings[key]) for key in keys if key in self._readings}
        for record in records:
            if record["reading_id"] not in existing:
                self.put(record)
                self.writes += 1
        return existing

    def after(self, record: Record) -> Any:
        return {"measured_at": record["measured_at"], "reading_id": record["reading_id"]}

    def every(self, patient_id: str) -> Iterator[Record]:
        for reading_type in TYPES:
            for record in self._between(patient_id, reading_type, "0000", "9999"):
                self.exported += 1
                yield record

    def count(self, patient_id: str | None = None) -> int:
        return sum(1 for pid, _ in self._readings if patient_id is None or pid == patient_id)
