"""Local wall-clock schedules in an IANA zone, expanded to UTC instants (pure, DST-correct).

A reminder at 08:00 America/New_York is 13:00Z in winter and 12:00Z in summer.
On a spring-forward day a time inside the gap (02:30) fires once, at the first
valid minute after it (03:00); on a fall-back day a repeated time (01:30) fires
once, at its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _wall(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall time: first occurrence if repeated, first valid minute if skipped."""
    local = datetime.combine(day, at, tzinfo=tz)  # fold=0: the first of two repeated times
    utc = local.astimezone(UTC)
    if utc.astimezone(tz).replace(tzinfo=None) == local.replace(tzinfo=None):
        return utc
    # Inside a spring-forward gap: walk from before the gap to the first minute at or after the wall time.
    probe = local.replace(fold=1).astimezone(UTC).replace(second=0, microsecond=0)
    for _ in range(24 * 60):
        if probe.astimezone(tz).time() >= at or probe.astimezone(tz).date() > day:
            return probe
        probe += timedelta(minutes=1)
    return utc


def occurrences(
    times: Iterable[str], days: Iterable[str], tz_name: str, start: datetime, end: datetime
) -> list[datetime]:
    """Every instant in (start, end] at which the schedule fires, in order."""
    tz = ZoneInfo(tz_name)
    walls = sorted(_wall(t) for t in times)
    allowed = {WEEKDAYS.index(d) for d in days}
    found: list[datetime] = []
    day = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date() + timedelta(days=1)
    while day <= last_day:
        if day.weekday() in allowed:
            for wall in walls:
                moment = instant(day, wall, tz)
                if start < moment <= end:
                    found.append(moment)
        day += timedelta(days=1)
    return sorted(set(found))


def next_occurrence(times: Iterable[str], days: Iterable[str], tz_name: str, after: datetime) -> datetime | None:
    """The first instant strictly after ``after`` (None when the schedule has no days)."""
    times, days = list(times), list(days)
    if not times or not days:
        return None
    for horizon in (8, 400):
        found = occurrences(times, days, tz_name, after, after + timedelta(days=horizon))
        if found:
            return found[0]
    return None


def latest_occurrence(
    times: Iterable[str], days: Iterable[str], tz_name: str, since: datetime, now: datetime
) -> datetime | None:
    """The latest instant in (since, now]: a tick that ran late fires once, for the newest missed occurrence."""
    found = occurrences(list(times), list(days), tz_name, since, now)
    return found[-1] if found else None


def wall_clock(moment: datetime, tz_name: str) -> str:
    """``HH:MM`` of an instant on the wall clock of a zone (what a late reminder says the dose was due at)."""
    return moment.astimezone(ZoneInfo(tz_name)).strftime("%H:%M")
