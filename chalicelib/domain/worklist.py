"""The clinician's worklist as ``GET /worklist`` answers it (and the console's Worklist page shows it): one row per
patient of the panel, in the order of need, and what keeps the clinician from being paged.

``WorklistService`` builds it (chalicelib/services/worklist.py); ``chalicelib/api/alerts.py`` declares the same
shape for the OpenAPI document.  The order is decided here, once, for both (docs/console.md "Worklist"):

1. an open critical alert (the patient whose oldest unacknowledged critical alert is oldest first; a patient
   whose critical alerts are all acknowledged after those with one nobody has acknowledged);
2. an ``unanswered`` alert (escalation reached the on-call list's voice call without an acknowledgment);
3. an open routine alert;
4. an open task;
5. stale data: no reading for 3 days or more (or none at all);
6. the rest.

Within a group, more alerts or tasks first, then the worse triage bucket (chalicelib/domain/triage.py), then
the longer without a reading, then the fewer device days of the last 30.  :func:`need_of` names the group: it
is the reason a row is where it is, and the console's flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from chalicelib.domain.timeutil import parse_iso
from chalicelib.domain.triage import Bucket

STALE_DAYS = 3  # no reading for this many whole days or more: stale data
NEVER = 10**6  # no reading at all sorts as the longest gap


class Need(StrEnum):
    """Why a row is where it is: the worklist's groups, most urgent first."""

    CRITICAL_ALERT = "critical_alert"
    UNANSWERED_ALERT = "unanswered_alert"
    ROUTINE_ALERT = "routine_alert"
    OPEN_TASK = "open_task"
    STALE_DATA = "stale_data"
    REST = "rest"  # named by the patient's triage bucket

    @property
    def rank(self) -> int:
        return list(Need).index(self)


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
    # Where the last 14 local days put the patient (chalicelib/domain/triage.py), from the stream's RECENT item.
    triage_bucket: Bucket = Bucket.NO_DATA
    # When the patient's oldest critical alert that nobody has acknowledged was opened (None: there is none).
    oldest_unacknowledged_critical_at: str | None = None
    # Care-time minutes recorded this calendar month (the patient's local month; 99457 needs 20).
    care_minutes_month: int = 0
    # The last "Mark reviewed" by anyone on the care team: when and who (None: never, or undone to never).
    reviewed_at: str | None = None
    reviewed_by: str | None = None
    # Whether that review was today, in the requesting clinician's time zone ("not reviewed" filters on it).
    reviewed_today: bool = False
    care_team: list[str] = []
    # Channels whose current address a provider reported gone (a hard bounce, a complaint, an invalid number).
    unreachable_channels: list[str] = []
    # The current episode: "open", "paused", or "discharged" (shown only while a reading that still came has an
    # alert open; otherwise a discharged patient is off the worklist).
    episode_status: str = "open"


class ConfigurationError(BaseModel):
    """A clinician the clinic cannot page in real time (no phone)."""

    clinician_id: str
    problem: str
    # "no_phone", or "phone_unreachable" (its carrier reported the number gone; a new number clears it).
    code: str = "no_phone"


class CareTeamMember(BaseModel):
    """Someone on the care team of a patient of the panel (the worklist's "care-team member" filter)."""

    clinician_id: str
    name: str | None = None


class Worklist(BaseModel):
    items: list[WorklistRow]
    configuration_errors: list[ConfigurationError]
    # Everyone on the care team of any patient of the panel, the clinician included, by id.
    care_team_members: list[CareTeamMember] = []
    # How many rows the filters keep; ``items`` is all of them, except on a console page of 100.
    total: int = 0


class Review(BaseModel):
    """A patient's last review and whether the request that asked for it changed it."""

    patient_id: str
    patient_name: str | None = None  # given and family name, for the console's status line
    reviewed_at: str | None = None
    reviewed_by: str | None = None
    reviewed_by_name: str | None = None
    reviewed_today: bool = False  # in the caller's time zone, as the worklist's rows say it
    changed: bool  # False: someone else's review (or undo) came first; this is the state as it is now
    can_undo: bool = False  # the review is the caller's and has a previous state to go back to


@dataclass(frozen=True)
class WorklistFilter:
    """What the console's filters keep; every field empty keeps everything."""

    bucket: Bucket | None = None
    member: str | None = None  # a clinician id: patients with them on the care team
    not_reviewed: bool = False  # patients nobody has marked reviewed today

    def keeps(self, row: WorklistRow) -> bool:
        return (
            (self.bucket is None or row.triage_bucket is self.bucket)
            and (self.member is None or self.member in row.care_team)
            and not (self.not_reviewed and row.reviewed_today)
        )


def need_of(row: WorklistRow) -> Need:
    """The group a row sorts in: the first of docs/console.md's reasons that holds."""
    if row.open_critical_alerts:
        return Need.CRITICAL_ALERT
    if row.unanswered_alerts:
        return Need.UNANSWERED_ALERT
    if row.open_routine_alerts:
        return Need.ROUTINE_ALERT
    if row.open_tasks:
        return Need.OPEN_TASK
    if row.days_since_last_reading is None or row.days_since_last_reading >= STALE_DAYS:
        return Need.STALE_DATA
    return Need.REST


def need_key(row: WorklistRow) -> tuple[int, int, str, int, int, int, int, int, int, int]:
    """The sort key of a row: group first, then within the group as the module docstring says."""
    oldest = row.oldest_unacknowledged_critical_at
    return (
        need_of(row).rank,
        0 if oldest else 1,
        oldest or "",
        -row.open_critical_alerts,
        -row.unanswered_alerts,
        -row.open_routine_alerts,
        -row.open_tasks,
        row.triage_bucket.rank,
        -(row.days_since_last_reading if row.days_since_last_reading is not None else NEVER),
        row.device_days_last_30,
    )


def reviewed_on(reviewed_at: str | None, day: date, zone: str) -> bool:
    """Whether a review stamped ``reviewed_at`` (ISO UTC) fell on local ``day`` in ``zone``."""
    if not reviewed_at:
        return False
    moment: datetime = parse_iso(reviewed_at)
    return moment.astimezone(ZoneInfo(zone)).date() == day
