"""Which channels reach a person, in which order, and when (pure).

Routine messages go only on channels the patient prefers, has an address for,
has granted consent on and has not opted out of, and only outside quiet hours
in the patient's own time zone (deferred to the next allowed minute, never
dropped).  Safety messages bypass quiet hours and consent (not opt-outs: an
SMS opt-out is also enforced by the carrier), and try every reachable channel,
preferred ones first.  Over time the channel a patient actually answers on
wins for routine messages (``adapt``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

ALL_CHANNELS = ("push", "sms", "email", "voice")
MIN_SENDS_TO_ADAPT = 10
ADAPT_MARGIN = 0.25


@dataclass(frozen=True)
class ChannelState:
    has_address: bool
    consented: bool = False
    opted_out: bool = False
    sends: int = 0
    answers: int = 0

    @property
    def answer_rate(self) -> float:
        return self.answers / self.sends if self.sends else 0.0


@dataclass(frozen=True)
class Plan:
    channels: tuple[str, ...]
    deliver_at: datetime | None = None  # set when quiet hours defer a routine message
    reasons: tuple[str, ...] = field(default_factory=tuple)


def wall_time(hhmm: str) -> time:
    hours, minutes = hhmm.split(":")
    return time(int(hours), int(minutes))


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # the window wraps midnight (21:00-08:00)


def next_allowed(now: datetime, tz_name: str, start: str, end: str) -> datetime | None:
    """The first UTC moment at or after ``now`` outside the quiet window, or None if ``now`` is allowed."""
    tz = ZoneInfo(tz_name)
    local = now.astimezone(tz)
    quiet_start, quiet_end = wall_time(start), wall_time(end)
    if not in_quiet_hours(local.time(), quiet_start, quiet_end):
        return None
    day = local.date()
    for offset in range(3):
        candidate = datetime.combine(day + timedelta(days=offset), quiet_end, tzinfo=tz)
        # Round-trip through UTC: a wall time inside a DST gap becomes the first valid instant after it.
        resolved = candidate.astimezone(UTC)
        if resolved > now:
            return resolved
    return None


def adapt(order: list[str], states: dict[str, ChannelState]) -> tuple[list[str], str | None]:
    """Move a lower-preference channel first when the patient clearly answers there instead."""
    if len(order) < 2:
        return order, None
    first = states[order[0]]
    best = max(order[1:], key=lambda c: states[c].answer_rate)
    challenger = states[best]
    if (
        first.sends >= MIN_SENDS_TO_ADAPT
        and challenger.sends >= MIN_SENDS_TO_ADAPT
        and challenger.answer_rate >= first.answer_rate + ADAPT_MARGIN
    ):
        reason = (
            f"{best} preferred over {order[0]}: answered {challenger.answers}/{challenger.sends} "
            f"vs {first.answers}/{first.sends}"
        )
        return [best, *[c for c in order if c != best]], reason
    return order, None


def plan(
    preference: list[str],
    states: dict[str, ChannelState],
    safety: bool,
    now: datetime,
    timezone: str,
    quiet_hours: tuple[str, str] | None,
    allowed: set[str] | None = None,
) -> Plan:
    def usable(channel: str) -> bool:
        state = states.get(channel)
        if state is None or not state.has_address or state.opted_out:
            return False
        if allowed is not None and channel not in allowed:
            return False
        return safety or state.consented

    order = [c for c in preference if usable(c)]
    reasons: list[str] = []
    if safety:
        # Never drop a safety message for want of a preferred channel: try every reachable one.
        order += [c for c in ALL_CHANNELS if c not in order and usable(c)]
        return Plan(tuple(order), None, ())
    order, reason = adapt(order, states)
    if reason:
        reasons.append(reason)
    deliver_at = next_allowed(now, timezone, *quiet_hours) if quiet_hours else None
    return Plan(tuple(order), deliver_at, tuple(reasons))
