"""Alert rules (pure): which reading opens which alert, what is worse, what may follow what.

One alert may be open (or acknowledged) per patient and *condition*
(clinical.md "Safety net" rule 1): glucose low, glucose high, BP high, BP
low, pulse.  A low and a critical low are the same story getting worse, so a
critical reading upgrades an open routine alert (and pages) instead of
opening a second one; a BP crisis never joins a glucose alert.  Trend alerts
(recurrent lows, sustained high home BP, red-flag messages, missed readings,
unreachable patient) each have their own slot.  A reading measured more than
6 hours before it arrived is history (rule 4): it opens or joins a routine
alert and never pages.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field

from chalicelib.domain.text import FreeText
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
# Level 2 adds the clinic's on-call list; level 3 calls it by voice and marks the alert unanswered.
ON_CALL_FROM_LEVEL = 2
UNANSWERED_LEVEL = 3
# Rule 2: a critical reading joining an alert pages again when the last page is this old.
REPAGE_AFTER = timedelta(minutes=60)
# Rule 3: at most one patient safety message per condition per this long.
SAFETY_MESSAGE_EVERY = timedelta(minutes=15)
# Rule 4: measured longer than this before it was received, a reading is history.
LATE_AFTER = timedelta(hours=6)
CONDITIONS = ("glucose_low", "glucose_high", "bp_high", "bp_low", "pulse")
LOWS = frozenset({"low", "critical_low"})
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


def condition_of(reading_type: str, severity: str, guidance_key: str = "") -> str | None:
    """The condition an abnormal reading belongs to (rule 1), or None when it raises no alert."""
    if severity not in KIND_OF_SEVERITY:
        return None
    if reading_type == "blood_glucose":
        return "glucose_low" if severity in LOWS else "glucose_high"
    if guidance_key.startswith("pulse"):
        return "pulse"
    return "bp_low" if severity in LOWS else "bp_high"


def is_late(measured_at: datetime, received_at: datetime) -> bool:
    return received_at - measured_at > LATE_AFTER


def slot_of(kind: str, condition: str | None = None) -> str:
    """The open-alert slot: the condition for reading alerts, the kind for the others.

    Alerts opened before conditions existed (no ``condition`` stored) keep the
    direction slots they were opened in (``low``/``high``).
    """
    if condition:
        return condition
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
    # blood_glucose or blood_pressure for alerts raised by readings (absent on older alerts).
    reading_type: Literal["blood_glucose", "blood_pressure"] | None = None
    condition: str | None = None
    priority: Priority
    status: Status
    # Level 3 reached without an acknowledgment (rule 6): shown on the worklist.
    unanswered: bool = False
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
    note: FreeText | None = Field(default=None, max_length=2000)
