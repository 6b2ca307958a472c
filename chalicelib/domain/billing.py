"""US remote patient monitoring (RPM) billing support, per docs/clinical.md.

Device supply (per patient and period): distinct *local* days with at least one
reading from a device — source ``device``, or ``app`` with a device id —
received within 24 hours of being measured (docs/api.md "Trust rules", F6: a
back-dated reading is history, not transmitted monitoring data); manual, SMS
and clinic entries do not count.  Only readings from a device *registered* to
the patient should count: registered meters are a separate issue, and until
then the device id is the client's word.  16 or more days → CPT 99454;
2-15 days → 99445 (new for 2026); fewer → nothing.

Treatment management (per patient and month): clinician minutes, which only
bill when the month includes an interactive communication with the patient:
10-19 minutes → 99470 (new for 2026); 20 or more → 99457, and each further
full 20 minutes → one 99458.

The period is the calendar month in the patient's time zone (see docs/design.md,
"Billing period").  This module only counts; whether a claim is made is the
practice's decision.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.timeutil import SentTime, UtcTime, parse_iso

DEVICE_SOURCES = ("device", "app")
# A reading received later than this after it was measured does not make a device day.
DEVICE_DAY_TRANSMITTED_WITHIN = timedelta(hours=24)
MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")  # ASCII digits: \d matches "٢" too


def counts_as_device_day(image: dict[str, Any]) -> bool:
    if image.get("source") not in DEVICE_SOURCES or not image.get("device_id"):
        return False
    try:
        measured, received = parse_iso(str(image["measured_at"])), parse_iso(str(image["received_at"]))
    except (KeyError, ValueError):
        return False
    return received - measured <= DEVICE_DAY_TRANSMITTED_WITHIN


def device_code(device_days: int) -> str | None:
    if device_days >= 16:
        return "99454"
    if device_days >= 2:
        return "99445"
    return None


def management_codes(minutes: int, interactive: bool) -> list[str]:
    if not interactive or minutes < 10:
        return []
    if minutes < 20:
        return ["99470"]
    return ["99457"] + ["99458"] * ((minutes - 20) // 20)


def month_of(day: date | datetime) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class CareTimeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: int = Field(ge=1, le=600, strict=True)
    interactive: bool = Field(strict=True)
    activity: str = Field(pattern=r"^[a-z][a-z_]{0,39}$", description="e.g. call, video, message, review")
    at: SentTime = Field(description="when the work was done: in the past year, not in the future")


class CareTime(BaseModel):
    entry_id: str
    patient_id: str
    clinician_id: str
    minutes: int
    interactive: bool
    activity: str
    at: UtcTime
    month: str


class RpmRow(BaseModel):
    patient_id: str
    given_name: str | None = None
    family_name: str | None = None
    birth_date: str | None = None  # YYYY-MM-DD, when the clinic recorded it
    mrn: str | None = None
    month: str
    device_days: int
    device_code: Literal["99454", "99445"] | None
    care_minutes: int
    interactive: bool
    management_codes: list[str]
    # The month's days inside an episode with RPM consent, not paused: [first, last] (docs/api.md "Program
    # lifecycle"). Device days count only inside them.
    program_periods: list[list[str]] = []


class RpmReport(BaseModel):
    month: str
    items: list[RpmRow]
