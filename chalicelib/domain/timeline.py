"""The patient timeline: what each event looks like, the kinds, and notes.

Every interaction on every channel is written as an event under the patient
(``PATIENT#<pid> / EVENT#<at>#<event_id>``) by whatever caused it: the stream
for readings, consents and targets; the alert, messaging, reminder and
appointment services for theirs.  Summaries carry values: the timeline is the
authenticated clinical record, never a message body.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.text import KEPT_CHARACTER, FreeText
from chalicelib.domain.timeutil import UtcTime

KINDS = (
    "reading",
    "alert_opened",
    "alert_joined",
    "alert_escalated",
    "alert_acknowledged",
    "alert_resolved",
    "message_out",
    "message_in",
    "delivery_failed",
    "reminder_sent",
    "reminder_done",
    "consent_changed",
    "targets_changed",
    "task_created",
    "note",
    "episode_opened",
    "episode_changed",
    "episode_paused",
    "episode_resumed",
    "episode_discharged",
)
EARLIEST, LATEST = "0000", "9999"


class TimelineEvent(BaseModel):
    at: str
    kind: str
    channel: str | None = None
    summary: str
    ref: dict[str, Any] = Field(default_factory=dict)
    # A message_out's delivery status, as its provider's events report it (queued, sent, delivered,
    # failed, bounced, complained, unknown); None for every other kind.
    status: str | None = None


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The client's id makes a repeated POST safe (or send an Idempotency-Key header).
    note_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    text: FreeText = Field(min_length=1, max_length=4000, json_schema_extra={"pattern": KEPT_CHARACTER})
    # Notes are for the care team (docs/api.md "Trust rules", F18); the patient sees one only when shared.
    share_with_patient: bool = Field(default=False, strict=True)


class PatientNote(BaseModel):
    note_id: str
    patient_id: str
    by: str
    at: UtcTime
    text: str
    share_with_patient: bool = False
