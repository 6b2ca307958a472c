"""DynamoDB repository for appointments: PATIENT#<pid> / APPT#<aid>, on the due index while a reminder is pending."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.due_index import due_shard
from chalicelib.adapters.dynamo import TOKEN_ATTRIBUTE, DynamoTable
from chalicelib.adapters.stores import patient_pk

# What the table adds to an appointment's fields; a record read back and handed again is rebuilt without them.
STORAGE = ("pk", "sk", "entity", "due_shard", "due_at", TOKEN_ATTRIBUTE)
OPEN = ("scheduled", "confirmed", "reschedule_requested")


class DynamoAppointmentStore:
    def __init__(self, table: DynamoTable) -> None:
        self.table = table

    def _item(self, record: dict[str, Any]) -> dict[str, Any]:
        item = {
            "pk": patient_pk(record["patient_id"]),
            "sk": f"APPT#{record['appointment_id']}",
            "entity": "appointment",
            **{k: v for k, v in record.items() if k not in STORAGE},
        }
        pending = [r["due_at"] for r in record["reminders"] if not r["sent"]]
        if pending and record["status"] in OPEN:
            item.update(
                due_shard=due_shard(f"appt:{record['patient_id']}:{record['appointment_id']}"), due_at=min(pending)
            )
        return item

    def create(self, record: dict[str, Any]) -> bool:
        return self.table.put_if_absent(self._item(record))

    def save(self, record: dict[str, Any], expected_updated_at: str) -> bool:
        """Replace the appointment if nobody changed it since it was read."""
        return self.table.put_if(self._item(record), "updated_at = :seen", {":seen": expected_updated_at})

    def get(self, patient_id: str, appointment_id: str) -> dict[str, Any] | None:
        return self.table.get(patient_pk(patient_id), f"APPT#{appointment_id}")

    def of_patient(self, patient_id: str) -> list[dict[str, Any]]:
        return self.table.query_all(
            "pk = :p AND begins_with(sk, :a)", {":p": patient_pk(patient_id), ":a": "APPT#"}, consistent=True
        )
