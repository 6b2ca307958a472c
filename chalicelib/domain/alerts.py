"""Alert rules (pure): which reading opens which alert, what is worse, what may follow what.

One alert may be open (or acknowledged) per patient and *direction*: a low
and a critical low are the same story getting worse, so a critical reading
upgrades an open routine alert (and pages) instead of opening a second one.
Trend alerts (recurrent lows, sustained high home BP, red-flag messages,
missed readings, unreachable patient) each have their own slot.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from chalicelib.domain.timeutil import UtcTime

Kind = Literal[
    "critical_low",
    "critical_high",
    "low",
    "high",
    "recurrent_lows",
    "sustained_high_home_bp",
    "missed_readings",
    "red_flag_message",
    "unreachable_patient",
]
Status = Literal["open", "acknowledged", "resolved"]
Priority = Literal["critical", "routine"]

ESCALATE_AFTER = timedelta(minutes=15)
MAX_ESCALATION = 3
RECURRENT_LOWS_WINDOW = timedelta(days=7)
RECURRENT_LOWS_MIN = 2
SUSTAINED_BP_WINDOW = timedelta(days=7)
SUSTAINED_BP_MIN_READINGS = 12
SUSTAINED_BP_SYSTOLIC = 135.0
SUSTAINED_BP_DIASTOLIC = 85.0

KIND_OF_SEVERITY: dict[str, tuple[str, Priority]] = {
    "critical_low": ("critical_low", "critical"),
    "critical_high": ("critical_high", "critical"),
    "low": ("low", "routine"),
    "high": ("high", "routine"),
}
TRANSITIONS: dict[str, set[str]] = {"acknowledge": {"open"}, "resolve": {"open", "acknowledged"}}
TARGET_STATUS = {"acknowledge": "acknowledged", "resolve": "resolved"}
PRIORITY_RANK = {"critical": 1, "routine": 2}


def slot_of(kind: str) -> str:
    """The open-alert slot a kind occupies (low and critical_low share one)."""
    if kind in ("low", "critical_low"):
        return "low"
    if kind in ("high", "critical_high"):
        return "high"
    return kind


def alert_for_severity(severity: str) -> tuple[str, Priority] | None:
    return KIND_OF_SEVERITY.get(severity)


def is_worse(new_priority: str, current_priority: str) -> bool:
    return new_priority == "critical" and current_priority != "critical"


def sustained_high(readings: list[dict[str, Any]]) -> bool:
    """Home BP: >= 12 readings in the window whose mean is >= 135 systolic or >= 85 diastolic."""
    if len(readings) < SUSTAINED_BP_MIN_READINGS:
        return False
    systolic = sum(float(r["systolic"]) for r in readings) / len(readings)
    diastolic = sum(float(r["diastolic"]) for r in readings) / len(readings)
    return systolic >= SUSTAINED_BP_SYSTOLIC or diastolic >= SUSTAINED_BP_DIASTOLIC


def recurrent_lows(readings: list[dict[str, Any]]) -> bool:
    lows = [r for r in readings if r.get("meter_flag") == "LO" or (r.get("value_mg_dl") or 1000) < 70]
    return len(lows) >= RECURRENT_LOWS_MIN


class Note(BaseModel):
    by: str
    at: UtcTime
    text: str


class Alert(BaseModel):
    alert_id: str
    patient_id: str
    kind: Kind
    priority: Priority
    status: Status
    opened_at: UtcTime
    last_event_at: UtcTime
    occurrences: int
    reading_ids: list[str] = Field(default_factory=list)
    escalation_level: int = 0
    acknowledged_by: str | None = None
    acknowledged_at: UtcTime | None = None
    resolved_by: str | None = None
    resolved_at: UtcTime | None = None
    notes: list[Note] = Field(default_factory=list)


class TransitionIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)
