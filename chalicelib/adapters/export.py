"""Where the whole-record export reads each section: the repositories that already own those items."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.alerts import DynamoAlertStore
from chalicelib.adapters.dynamo import DynamoTable, Page
from chalicelib.adapters.episodes import DynamoEpisodes
from chalicelib.adapters.messages import DynamoMessages
from chalicelib.adapters.readings import DynamoReadingStore
from chalicelib.adapters.reminders import DynamoReminderStore


class DynamoExportSources:
    """The ``ExportSources`` port: one bounded read per small section, Query pages for the long ones."""

    def __init__(self, table: DynamoTable) -> None:
        self._episodes = DynamoEpisodes(table)
        self._reminders = DynamoReminderStore(table)
        self._alerts = DynamoAlertStore(table)
        self._messages = DynamoMessages(table)
        self._readings = DynamoReadingStore(table)

    def episodes(self, patient_id: str) -> list[dict[str, Any]]:
        return [e.model_dump(mode="json") for e in self._episodes.of_patient(patient_id)]

    def reminders(self, patient_id: str) -> list[dict[str, Any]]:
        return self._reminders.of_patient(patient_id)

    def alerts(self, patient_id: str, limit: int, start_key: Any) -> Page:
        return self._alerts.page_of_patient(patient_id, limit, start_key)

    def messages(self, patient_id: str, limit: int, start_key: Any) -> Page:
        return self._messages.messages(patient_id, limit, start_key)

    def readings(self, patient_id: str, reading_type: str, limit: int, start_key: Any) -> Page:
        return self._readings.page(patient_id, reading_type, "0000", "9999", limit, start_key)
