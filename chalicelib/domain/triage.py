"""The worklist's triage bucket: where one patient's last 14 local days put them, and the records it is read from.

Ordered rules, first match wins (docs/console.md "Worklist"), over the readings of the last 14 local
days (today and the 13 days before it):

1. ``very_low``  any glucose reading < 54 mg/dL, or a meter LO;
2. ``low``  4 % or more of the glucose readings < 70 (LO included);
3. ``bp_crisis``  any BP reading in the hypertensive-crisis range of docs/clinical.md, systolic > 180 or
   diastolic > 120 (``bp_category`` "severe");
4. ``very_high``  5 % or more of the glucose readings > 250 (HI included);
5. ``high``  25 % or more of the glucose readings > 180, or a 7-day BP mean (the last 7 local days,
   every reading weighing the same) at or above 135 systolic or 85 diastolic;
6. ``no_data``  no glucose and no BP reading in the 14 days;
7. ``meeting_targets``  otherwise.

**Order departs from docs/console.md on purpose**: console.md lists "high" before "very high".
Almost anyone with 5 % of readings above 250 also has 25 % above 180, so in that order "very high"
would never be shown; here very high comes before high, so the worse state names the patient.

The glucose ranges are those of the console statistics (:func:`console_stats.count_ranges`, TIR
2019), so the flag and the patient page never disagree about a reading.  Shares are compared in
integers (``100 * part >= 4 * count``): exactly 4 % is low, 3.99 % is not, with no float rounding.
The BP mean threshold is the sustained-high-home-BP rule's (docs/clinical.md, 135/85) without its
12-reading minimum: the alert needs a reliable mean, a worklist flag only points a nurse at a chart.
A reading dated after ``today`` (a reading may be measured up to 5 minutes ahead of the server, so
its local day can be tomorrow) is counted, never dropped: a low must not vanish from the worklist
because of a clock.

The stream keeps each patient's recent readings as compact strings in one item, so the worklist
reads one item per patient instead of 28 day buckets (docs/console.md: no N+1).  One record per
reading, fields separated by ``|``, and the reading id keeps two equal readings on a day distinct::

    g|<reading_id>|<yyyy-mm-dd>|<mg/dL or LO or HI>        glucose
    b|<reading_id>|<yyyy-mm-dd>|<systolic>|<diastolic>      blood pressure

The day is the reading's local day (as in the daily buckets); numbers are written exactly (``99.9``,
``120``), never rounded, so a 69.98 stays below 70.  Reading ids match ``ID_PATTERN`` and so never
hold ``|``.  A string that does not parse is skipped, never raised on: one bad record must not take
the worklist down.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from chalicelib.domain.alerts import SUSTAINED_BP_DIASTOLIC, SUSTAINED_BP_SYSTOLIC
from chalicelib.domain.classification import bp_category
from chalicelib.domain.console_stats import METER_HI, METER_LO, GlucoseValue, count_ranges
from chalicelib.domain.patients import ID_PATTERN
from chalicelib.domain.trends import bucket_value

TRIAGE_DAYS = 14
BP_MEAN_DAYS = 7
LOW_SHARE_PCT = 4  # >= 4 % of readings < 70
VERY_HIGH_SHARE_PCT = 5  # >= 5 % of readings > 250
HIGH_SHARE_PCT = 25  # >= 25 % of readings > 180


class Bucket(StrEnum):
    """A triage bucket, declared in rule order (first match wins)."""

    VERY_LOW = "very_low"
    LOW = "low"
    BP_CRISIS = "bp_crisis"
    VERY_HIGH = "very_high"
    HIGH = "high"
    NO_DATA = "no_data"
    MEETING_TARGETS = "meeting_targets"

    @property
    def label(self) -> str:
        """The flag's text (English; the console translates it)."""
        return LABELS[self]

    @property
    def rank(self) -> int:
        """Sort key: 0 is the most urgent."""
        return list(Bucket).index(self)


LABELS: dict[Bucket, str] = {
    Bucket.VERY_LOW: "Very low glucose",
    Bucket.LOW: "Low glucose",
    Bucket.BP_CRISIS: "Blood pressure crisis",
    Bucket.VERY_HIGH: "Very high glucose",
    Bucket.HIGH: "High glucose",
    Bucket.NO_DATA: "No data",
    Bucket.MEETING_TARGETS: "Meeting targets",
}

GlucosePoint = tuple[str, GlucoseValue]  # (local day yyyy-mm-dd, mg/dL or "LO"/"HI")
BpPoint = tuple[str, float, float]  # (local day, systolic, diastolic)


def _share_at_least(part: int, whole: int, pct: int) -> bool:
    return whole > 0 and 100 * part >= pct * whole


def matching_rules(glucose: Iterable[GlucosePoint], bp: Iterable[BpPoint], today: date) -> tuple[Bucket, ...]:
    """Every rule that holds, in rule order; the last is always ``meeting_targets`` (the catch-all)."""
    since = (today - timedelta(days=TRIAGE_DAYS - 1)).isoformat()
    since_7 = (today - timedelta(days=BP_MEAN_DAYS - 1)).isoformat()
    ranges = count_ranges(value for day, value in glucose if day >= since)
    recent_bp = [(day, float(s), float(d)) for day, s, d in bp if day >= since]
    pressures = [(s, d) for _, s, d in recent_bp]
    week = [(s, d) for day, s, d in recent_bp if day >= since_7]
    bp_high = bool(week) and (
        sum(s for s, _ in week) / len(week) >= SUSTAINED_BP_SYSTOLIC
        or sum(d for _, d in week) / len(week) >= SUSTAINED_BP_DIASTOLIC
    )
    holds = {
        Bucket.VERY_LOW: ranges.below_54 > 0,
        Bucket.LOW: _share_at_least(ranges.below_70, ranges.count, LOW_SHARE_PCT),
        Bucket.BP_CRISIS: any(bp_category(s, d) == "severe" for s, d in pressures),
        Bucket.VERY_HIGH: _share_at_least(ranges.above_250, ranges.count, VERY_HIGH_SHARE_PCT),
        Bucket.HIGH: _share_at_least(ranges.above_180, ranges.count, HIGH_SHARE_PCT) or bp_high,
        Bucket.NO_DATA: ranges.count == 0 and not pressures,
        Bucket.MEETING_TARGETS: True,
    }
    return tuple(bucket for bucket in Bucket if holds[bucket])


def triage(glucose: Iterable[GlucosePoint], bp: Iterable[BpPoint], today: date) -> Bucket:
    """The patient's bucket: the first rule that holds over the 14 local days ending ``today``."""
    return matching_rules(glucose, bp, today)[0]


# -- recent-readings records ------------------------------------------------------------------


@dataclass(frozen=True)
class GlucoseRecord:
    reading_id: str
    day: str
    value: GlucoseValue  # mg/dL, or "LO" / "HI"


@dataclass(frozen=True)
class BpRecord:
    reading_id: str
    day: str
    systolic: float
    diastolic: float


Record = GlucoseRecord | BpRecord

_ID = re.compile(ID_PATTERN)
_NUMBER = re.compile(r"^[0-9]{1,4}(\.[0-9]{1,20})?$")


def _number_text(value: Any) -> str:
    """The exact text of a reading's number (``120``, ``99.9``); ValueError for one no record can hold."""
    number = float(value)
    if not math.isfinite(number) or number <= 0:
        raise ValueError("a reading's value must be a positive finite number")
    text = str(int(number)) if number.is_integer() else repr(number)
    if not _NUMBER.fullmatch(text):
        raise ValueError("a reading's value must be below 10000 and written without an exponent")
    return text


def _check(reading_id: str, day: str) -> None:
    if not _ID.fullmatch(reading_id):
        raise ValueError("reading id must match ID_PATTERN")
    if not _is_day(day):
        raise ValueError("day must be yyyy-mm-dd")


def encode_glucose(reading_id: str, day: str, value: GlucoseValue) -> str:
    _check(reading_id, day)
    text = value if value in (METER_LO, METER_HI) else _number_text(value)
    return f"g|{reading_id}|{day}|{text}"


def encode_bp(reading_id: str, day: str, systolic: float, diastolic: float) -> str:
    _check(reading_id, day)
    return f"b|{reading_id}|{day}|{_number_text(systolic)}|{_number_text(diastolic)}"


def record_for(image: Mapping[str, Any], day: str) -> str:
    """The record of a reading as the stream sees it (``image``), counted in its local ``day``."""
    value = bucket_value(dict(image))
    if image["type"] == "blood_glucose":
        return encode_glucose(image["reading_id"], day, value)
    systolic, diastolic = value
    return encode_bp(image["reading_id"], day, systolic, diastolic)


@functools.lru_cache(maxsize=1024)  # a worklist's records name about 15 distinct days
def _is_day(text: str) -> bool:
    try:
        return date.fromisoformat(text).isoformat() == text
    except ValueError:
        return False


def _parse_number(text: str) -> float | None:
    if not _NUMBER.fullmatch(text):
        return None
    number = float(text)
    return number if number > 0 else None


def decode(text: Any) -> Record | None:
    """The record a string holds, or None for anything malformed."""
    if not isinstance(text, str):
        return None
    parts = text.split("|")
    if len(parts) < 4 or not _ID.fullmatch(parts[1]) or not _is_day(parts[2]):
        return None
    kind, reading_id, day = parts[0], parts[1], parts[2]
    if kind == "g" and len(parts) == 4:
        if parts[3] in (METER_LO, METER_HI):
            return GlucoseRecord(reading_id, day, parts[3])
        value = _parse_number(parts[3])
        return None if value is None else GlucoseRecord(reading_id, day, value)
    if kind == "b" and len(parts) == 5:
        systolic, diastolic = _parse_number(parts[3]), _parse_number(parts[4])
        if systolic is None or diastolic is None:
            return None
        return BpRecord(reading_id, day, systolic, diastolic)
    return None


def decode_all(texts: Iterable[Any]) -> tuple[list[GlucoseRecord], list[BpRecord]]:
    """The readable records, one per reading id (the first in sorted order wins), malformed ones skipped."""
    seen: set[tuple[str, str]] = set()
    glucose: list[GlucoseRecord] = []
    pressures: list[BpRecord] = []
    for text in sorted(t for t in texts if isinstance(t, str)):
        record = decode(text)
        if record is None:
            continue
        key = ("g" if isinstance(record, GlucoseRecord) else "b", record.reading_id)
        if key in seen:
            continue
        seen.add(key)
        if isinstance(record, GlucoseRecord):
            glucose.append(record)
        else:
            pressures.append(record)
    return glucose, pressures


def triage_records(texts: Iterable[Any], today: date) -> Bucket:
    """The bucket of a patient's recent-readings item (its record strings)."""
    glucose, pressures = decode_all(texts)
    return triage([(r.day, r.value) for r in glucose], [(r.day, r.systolic, r.diastolic) for r in pressures], today)


def prune(texts: Iterable[Any], today: date) -> tuple[list[str], list[str]]:
    """Split records into those to keep (readable, within the triage window or later) and those to drop."""
    since = (today - timedelta(days=TRIAGE_DAYS - 1)).isoformat()
    keep: list[str] = []
    drop: list[str] = []
    for text in texts:
        if not isinstance(text, str):
            continue
        record = decode(text)
        (keep if record is not None and record.day >= since else drop).append(text)
    return keep, drop


@dataclass(frozen=True)
class Recent:
    """A patient's recent readings as the stream keeps them (chalicelib/adapters/recent.py, the RECENT item)."""

    records: list[str] = field(default_factory=list)  # triage records, day by day
    device_days: frozenset[str] = frozenset()  # local days marked as device days
    device_days_from: str | None = None  # the marks are complete from this local day on (None: not known)

    def device_days_between(self, first: str, last: str) -> int | None:
        """Device days from ``first`` to ``last`` (local days, inclusive); None when the marks cannot say."""
        if self.device_days_from is None or self.device_days_from > first:
            return None
        return sum(1 for d in self.device_days if first <= d <= last)
