"""The clinician's worklist as ``GET /worklist`` answers it: one row per patient of the panel, and what
keeps the clinician from being paged.

``WorklistService`` builds it (chalicelib/services/worklist.py says in which order);
``chalicelib/api/alerts.py`` declares the same shape for the OpenAPI document.
"""

from __future__ import annotations

from pydantic import BaseModel


class WorklistRow(BaseModel):
    patient_id: str
    given_name: str | None = None
    family_name: str | None = None
    open_critical_alerts: int
    unanswered_alerts: int = 0  # escalation reached level 3 without an acknowledgment
    open_routine_alerts: int
    open_tasks: int
    last_reading_at: str | None = None
    days_since_last_reading: int | None = None  # None: no reading at all
    device_days_last_30: int
    # Thresholds of stored targets that break a hard limit of docs/clinical.md (``group.field``).
    targets_outside_limits: list[str] = []
    # Messages held back today (the patient's local day) by the daily cap on sending.
    held_messages_today: int = 0


class ConfigurationError(BaseModel):
    """A clinician the clinic cannot page in real time (no phone)."""

    clinician_id: str
    problem: str


class Worklist(BaseModel):
    items: list[WorklistRow]
    configuration_errors: list[ConfigurationError]
