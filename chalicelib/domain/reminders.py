"""Reminders and doses: measurement and medication schedules in the patient's local time.

A reminder is a schedule (local wall-clock times on local weekdays); each time
it fires it creates a *dose* — one due occurrence — which is done when the
patient acknowledges it (app or SMS ``TAKEN``) or, for a measurement reminder,
when a reading of its type arrives within 2 hours of the due time.  Adherence
is doses done over doses due.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator

from chalicelib.domain.patients import NOT_BLANK, Identifier, Strict, WallClock, never_null
from chalicelib.domain.timeutil import UtcTime

Kind = Literal["measure_glucose", "measure_bp", "medication", "custom"]
# Who wrote a reminder's label: only the care team's ever leaves the app (in _full templates).
Author = Literal["patient", "staff"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
EVERY_DAY: list[Weekday] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
READING_WINDOW = timedelta(hours=2)
MISSED_NUDGE_AFTER = timedelta(days=3)
MISSED_ALERT_AFTER = timedelta(days=7)
UNANSWERED_LIMIT = 3
# Reminders a patient may have (deleted ones do not count): docs/api.md "Trust rules", security review F3.
MAX_REMINDERS = 20
READING_TYPE_OF = {"measure_glucose": "blood_glucose", "measure_bp": "blood_pressure"}
TEMPLATE_OF = {
    "measure_glucose": "reminder_measure",
    "measure_bp": "reminder_measure",
    "medication": "reminder_medication",
    "custom": "reminder_custom",
}


def _unique(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat a value")
    return sorted(values)


UNIQUE = {"uniqueItems": True}  # the schema says what _unique enforces
Times = Annotated[
    list[WallClock], Field(min_length=1, max_length=12, json_schema_extra=UNIQUE), AfterValidator(_unique)
]
Days = Annotated[list[Weekday], Field(min_length=1, max_length=7, json_schema_extra=UNIQUE), AfterValidator(_unique)]
Label = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, strip_whitespace=True),
    Field(json_schema_extra={"pattern": NOT_BLANK}),
]


class ReminderIn(Strict):
    reminder_id: Identifier | None = None
    kind: Kind
    times: Times
    days: Days = Field(default_factory=lambda: list(EVERY_DAY))
    # Shown in the app. Sent by SMS/email/push only when the care team wrote it, and only with
    # full-content consent (it may name a drug); a label the patient typed never leaves the app.
    label: Label | None = None
    active: bool = True


class ReminderPatch(Strict):
    """Partial update; omitted fields are unchanged, ``label`` is cleared with null."""

    times: Times | None = Field(default=None, json_schema_extra=never_null)
    days: Days | None = Field(default=None, json_schema_extra=never_null)
    label: Label | None = None
    active: bool | None = Field(default=None, json_schema_extra=never_null)

    @field_validator("times", "days", "active")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class Reminder(BaseModel):
    reminder_id: str
    patient_id: str
    kind: Kind
    times: list[str]
    days: list[str]
    label: str | None = None
    label_by: Author | None = None
    active: bool
    next_due_at: UtcTime | None = None
    created_at: UtcTime
    updated_at: UtcTime


class AcknowledgeIn(Strict):
    at: UtcTime | None = None


class AdherenceRow(BaseModel):
    reminder_id: str | None
    kind: str | None
    due: int
    done: int
    pct: float | None


class Adherence(BaseModel):
    days: int
    reminders: list[AdherenceRow]
    overall: AdherenceRow


def adherence_row(reminder_id: str | None, kind: str | None, doses: list[dict[str, object]]) -> AdherenceRow:
    done = sum(1 for d in doses if d.get("status") == "done")
    pct = round(100.0 * done / len(doses), 1) if doses else None
    return AdherenceRow(reminder_id=reminder_id, kind=kind, due=len(doses), done=done, pct=pct)


def label_author(is_patient: bool, label: str | None) -> Author | None:
    return None if not label else ("patient" if is_patient else "staff")


def sendable_label(reminder: dict[str, object]) -> str:
    """The label a message may carry: the care team's only (a legacy label of unknown author is not sent)."""
    return str(reminder.get("label") or "") if reminder.get("label_by") == "staff" else ""


class ReminderDeleted(BaseModel):
    deleted: str


class DoseAcknowledged(BaseModel):
    reminder_id: str
    due_at: str
    status: Literal["done"]
