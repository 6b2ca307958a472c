"""Appointments: one-time reminders before a visit, confirmation by reply (pure rules).

Reminders are due at ``starts_at - offset`` for each ISO 8601 offset; one whose
time has passed at booking is skipped, and one that falls in the patient's
quiet hours moves *earlier*, to the last allowed minute before the quiet
window, never after the start.  A video visit's join link goes only by push or
email.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, field_validator

from chalicelib.domain.patients import NOT_BLANK, Identifier, Strict, never_null
from chalicelib.domain.routing import in_quiet_hours, wall_time
from chalicelib.domain.timeutil import SentTime, UtcTime

Kind = Literal["video", "in_person", "phone"]
Status = Literal["scheduled", "confirmed", "reschedule_requested", "cancelled", "completed"]
OPEN = ("scheduled", "confirmed", "reschedule_requested")
# What each notice says about its appointment; a notice held back (quiet hours, a retry) goes only if still so.
NOTICES = {
    "appointment_reminder": "upcoming",
    "appointment_rescheduled": "upcoming",
    "appointment_join_link": "upcoming",
    "appointment_cancelled": "cancelled",
}
_DURATION = re.compile(r"^P(?:([0-9]+)D)?(?:T(?:([0-9]+)H)?(?:([0-9]+)M)?)?$")


def parse_offset(text: str) -> timedelta:
    match = _DURATION.match(text)
    if not match or text in ("P", "PT") or text.endswith("T"):
        raise ValueError("must be an ISO 8601 duration in days, hours and minutes, such as P1D or PT2H")
    if any(g and len(g) > 6 for g in match.groups()):
        raise ValueError("must be between 5 minutes and 30 days")
    days, hours, minutes = (int(g) if g else 0 for g in match.groups())
    # Bounded in whole minutes (Python ints) before a timedelta is made: PT93220304502791905987M overflows one.
    total = (days * 24 + hours) * 60 + minutes
    if not 5 <= total <= 30 * 24 * 60:
        raise ValueError("must be between 5 minutes and 30 days")
    return timedelta(minutes=total)


def _offsets(values: list[str]) -> list[str]:
    for value in values:
        parse_offset(value)
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an offset")
    return values


# An appointment starts within a plausible window around booking (docs/api.md): this bounds every
# calculation from ``starts_at`` (reminders up to 30 days and a night of quiet hours earlier) far from
# the calendar's edges.
PAST_WINDOW = timedelta(days=366)
FUTURE_WINDOW = timedelta(days=5 * 366)
START_WINDOW = "must be within the last year and the next 5 years"


def in_window(starts_at: datetime, now: datetime) -> bool:
    return now - PAST_WINDOW <= starts_at <= now + FUTURE_WINDOW


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError as error:  # 9999-12-31T23:30:00-14:00 is after the last UTC moment Python has
        raise ValueError(START_WINDOW) from error


StartTime = Annotated[SentTime, AfterValidator(_utc)]


def _https(value: str) -> str:
    if not value.startswith("https://"):
        raise ValueError("must be an https:// link")
    return value


# What parse_offset reads (at least one of days, hours, minutes), for the schema, with no more digits than
# 30 days needs (30D, 720H, 43200M); parse_offset also bounds the sum.
_D, _H, _M = "[0-9]{1,2}D", "[0-9]{1,3}H", "[0-9]{1,5}M"
OFFSET_PATTERN = f"^P(?:{_D}(?:T(?:{_H}(?:{_M})?|{_M}))?|T(?:{_H}(?:{_M})?|{_M}))$"
Offsets = Annotated[
    list[str],
    Field(
        min_length=0,
        max_length=5,
        description="ISO 8601 durations (days, hours, minutes) from 5 minutes to 30 days, each once",
        json_schema_extra={"uniqueItems": True, "items": {"type": "string", "pattern": OFFSET_PATTERN}},
    ),
    AfterValidator(_offsets),
]
JoinUrl = Annotated[
    str, StringConstraints(max_length=2000), AfterValidator(_https), Field(json_schema_extra={"pattern": "^https://"})
]
Location = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
    Field(json_schema_extra={"pattern": NOT_BLANK}),
]


class AppointmentIn(Strict):
    appointment_id: Identifier | None = None
    starts_at: StartTime
    kind: Kind
    location: Location | None = None
    join_url: JoinUrl | None = None
    remind_before: Offsets = Field(default_factory=lambda: ["P1D", "PT2H"])


class AppointmentPatch(Strict):
    """Partial update; omitted fields are unchanged, ``location`` and ``join_url`` are cleared with null."""

    starts_at: StartTime | None = Field(default=None, json_schema_extra=never_null)
    location: Location | None = None
    join_url: JoinUrl | None = None
    remind_before: Offsets | None = Field(default=None, json_schema_extra=never_null)
    status: Literal["confirmed", "completed"] | None = Field(default=None, json_schema_extra=never_null)

    @field_validator("starts_at", "remind_before", "status")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null")
        return value


class AppointmentReminder(BaseModel):
    due_at: UtcTime
    sent: bool


class Appointment(BaseModel):
    appointment_id: str
    patient_id: str
    starts_at: UtcTime
    kind: Kind
    location: str | None = None
    join_url: str | None = None
    remind_before: list[str]
    status: Status
    reminders: list[AppointmentReminder]
    created_at: UtcTime
    updated_at: UtcTime


def reminder_times(
    starts_at: datetime, offsets: list[str], now: datetime, timezone: str, quiet: tuple[str, str] | None
) -> list[datetime]:
    """When to remind: before the start, after now, moved earlier out of quiet hours."""
    tz = ZoneInfo(timezone)
    times: set[datetime] = set()
    for offset in offsets:
        try:
            due = starts_at - parse_offset(offset)
        except OverflowError:
            continue  # before the first moment there is: long past (the window keeps booked starts far from it)
        if quiet is not None:
            start, end = wall_time(quiet[0]), wall_time(quiet[1])
            guard = 0
            while in_quiet_hours(due.astimezone(tz).time(), start, end) and guard < 24 * 60:
                due -= timedelta(minutes=1)
                guard += 1
        if now < due < starts_at:
            times.add(due.replace(second=0, microsecond=0))
    return sorted(times)


def notice_still_true(template: str, params: dict[str, Any], appointment: dict[str, Any] | None) -> bool:
    """Whether a notice about an appointment may still go when it is delivered.

    A reminder, a "has moved" notice or a join link goes only while the appointment is open at the start it
    names; a cancellation notice only while it is cancelled. Held by quiet hours, a "moved" notice must not
    reach the patient after the visit was cancelled (or moved again), asking them to confirm it.
    """
    if template not in NOTICES or "appointment_id" not in params:
        return True  # not an appointment notice, or queued before notices named their appointment
    if appointment is None:
        return False
    if NOTICES[template] == "cancelled":
        return bool(appointment.get("status") == "cancelled")
    return appointment.get("status") in OPEN and appointment.get("starts_at") == params.get("starts_at")
