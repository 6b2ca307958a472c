"""Alert rules (pure): which reading opens which alert, what is worse, what may follow what.

One alert may be open (or acknowledged) per patient and *condition*
(docs/clinical.md "Safety net" rule 1): glucose low, glucose high, BP high, BP
low, pulse.  A low and a critical low are the same story getting worse, so a
critical reading upgrades an open routine alert (and pages) instead of
opening a second one; a BP crisis never joins a glucose alert.  Trend alerts
(recurrent lows, sustained high home BP, red-flag messages, missed readings,
unreachable patient) each have their own slot.  A reading measured more than
6 hours before it arrived is history (rule 4): it opens or joins a routine
alert and never pages.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from chalicelib.domain.delivery import unreachable
from chalicelib.domain.patients import ID_PATTERN
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


# Rule 14: the daily digest goes out at this local hour.
DIGEST_HOUR = 8
OPAQUE_ALERT_ID = re.compile(r"^a-[0-9a-f]{24}$")


def alert_id_for(patient_id: str, origin: str) -> str:
    """Opaque and deterministic from what opened it (a redelivery opens the same alert).

    Nothing in it names the patient (pages carry it in their link); the patient
    is found through the alert's reference.
    """
    return "a-" + hashlib.sha256(f"{patient_id}\x1f{origin}".encode()).hexdigest()[:24]


def is_opaque_alert_id(alert_id: str) -> bool:
    return bool(OPAQUE_ALERT_ID.match(alert_id))


def legacy_patient_of_alert(alert_id: str) -> str | None:
    """Alerts opened before ids were opaque: ``base64(patient).hash``."""
    encoded, _, suffix = alert_id.partition(".")
    if not encoded or len(suffix) != 16 or len(alert_id) > 200:
        return None
    try:
        patient_id = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return patient_id if re.fullmatch(ID_PATTERN, patient_id) else None


def next_digest(now: datetime, timezone: str) -> datetime:
    """The next 08:00 in ``timezone`` strictly after ``now`` (DST-correct), in ``now``'s zone."""
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    for offset in range(2):
        candidate = datetime.combine(local.date() + timedelta(days=offset), datetime.min.time(), tzinfo=tz).replace(
            hour=DIGEST_HOUR
        )
        if candidate.astimezone(now.tzinfo) > now:
            return candidate.astimezone(now.tzinfo)
    raise AssertionError("unreachable")


def realtime(clinician: Mapping[str, Any] | None) -> bool:
    """Whether a page can wake this clinician: a phone (SMS, and voice where configured) not reported unreachable."""
    return bool(clinician and clinician.get("phone")) and not unreachable(clinician or {}, "sms")


def describe_pages(recipients: Mapping[str, list[str]]) -> str:
    """For the timeline: who a page went to, or that nobody could be paged."""
    if not recipients:
        return "nobody to page (no reachable care team, escalation contact or on-call clinician)"
    return "paging " + "; ".join(f"{role} {', '.join(ids)}" for role, ids in recipients.items())


def page_recipients(
    care_team: list[str],
    profiles: Mapping[str, Mapping[str, Any]],
    on_call: list[str],
    level: int = 0,
) -> dict[str, list[str]]:
    """Who a page goes to, by role: the care team, escalation contacts, the on-call list (rules 5 and 6).

    A care-team member without a real-time channel (a phone) cannot be woken:
    the on-call list is paged in their place, as it is for an empty team
    (rule 5); level 1 adds the team's escalation contacts, level 2 the on-call
    list (rule 6).  A member who cannot be woken still gets the page in their
    inbox, in addition.  Roles with nobody in them are left out.
    """
    team = list(dict.fromkeys(care_team))
    reachable = [cid for cid in team if realtime(profiles.get(cid))]
    recipients: dict[str, list[str]] = {
        "care team": reachable,
        "care team by email only": [cid for cid in team if cid not in reachable and profiles.get(cid)],
    }
    if level >= 1:
        contacts = [c for cid in team for c in (profiles.get(cid) or {}).get("escalation_contacts", [])]
        recipients["escalation contact"] = [c for c in dict.fromkeys(contacts) if c not in reachable]
    if level >= ON_CALL_FROM_LEVEL or len(reachable) < len(team) or not team:
        named = [c for ids in recipients.values() for c in ids]
        recipients["on-call"] = [c for c in on_call if c not in named]
    return {role: ids for role, ids in recipients.items() if ids}


def page_template(level: int) -> str:
    """The first page, an escalation, or (at the last level) the voice call."""
    if level >= UNANSWERED_LEVEL:
        return "alert_escalation_voice"
    return "alert_page_clinician" if level == 0 else "alert_escalation_clinician"


def may_repage(last_paged_at: datetime, at: datetime) -> bool:
    """Rule 2: a critical reading joining an alert pages again when the last page is an hour old or more."""
    return at - last_paged_at >= REPAGE_AFTER


def escalation_step(current_level: int, due_at: datetime) -> tuple[int, datetime | None, bool]:
    """Rule 6: the next level, when the one after it is due (None at the last), and whether it marks unanswered."""
    level = current_level + 1
    next_due = due_at + ESCALATE_AFTER if level < MAX_ESCALATION else None
    return level, next_due, level >= UNANSWERED_LEVEL


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
