"""Trends over the patient's local days, computed from daily buckets.

The stream files every reading into a bucket per patient, type and *local*
day (``DAY#<type>#<yyyy-mm-dd>``), keyed inside the bucket by reading id, so a
redelivered record rewrites the same value.  A trend of ``days`` days is then
one Query of at most ``days`` small items, whatever the history size, and
this module turns those buckets into the numbers of docs/api.md.

Glucose ranges follow the international consensus on time in range (Battelino
et al., Diabetes Care 2019): 70-180 in range, < 70 and < 54 below, > 180 and
> 250 above.  A meter's LO counts below 54, HI above 250; neither has a number,
so they stay out of mean/min/max; each day counts them (``meter_lo``,
``meter_hi``) so a LO-only day still shows its low on the chart.  Blood
pressure at goal is < 130/80 (ACC/AHA 2017); the category of the mean uses the
guideline labels.  Every day keeps its lowest and highest value (systolic and
diastolic for BP): the chart draws them, because a mean hides a low.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import fmean
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from chalicelib.domain.classification import bp_category

TrendType = Literal["blood_glucose", "blood_pressure"]
WINDOWS = (7, 14, 30, 90)
GOAL_SYSTOLIC, GOAL_DIASTOLIC = 130, 80


class GlucoseDay(BaseModel):
    date: str
    mean: float | None
    min: float | None
    max: float | None
    count: int
    meter_lo: int = 0  # readings the meter showed as LO (below its range): no number, always below 54
    meter_hi: int = 0  # readings the meter showed as HI (above its range)


class BpDay(BaseModel):
    date: str
    mean_systolic: float
    mean_diastolic: float
    min_systolic: float
    max_systolic: float
    min_diastolic: float
    max_diastolic: float
    count: int


class GlucoseTrend(BaseModel):
    type: Literal["blood_glucose"] = "blood_glucose"
    days: int
    first_date: str
    last_date: str
    count: int
    mean_mg_dl: float | None
    min_mg_dl: float | None
    max_mg_dl: float | None
    time_in_range_pct: float | None
    below_70_pct: float | None
    below_54_pct: float | None
    above_180_pct: float | None
    above_250_pct: float | None
    days_with_readings: int
    daily: list[GlucoseDay]


class BpTrend(BaseModel):
    type: Literal["blood_pressure"] = "blood_pressure"
    days: int
    first_date: str
    last_date: str
    count: int
    mean_systolic: float | None
    mean_diastolic: float | None
    category_of_mean: str | None
    at_goal_pct: float | None
    days_with_readings: int
    daily: list[BpDay]


@dataclass(frozen=True)
class Window:
    """The local days a trend covers, oldest first, ending today in the patient's zone."""

    first: date
    last: date

    @classmethod
    def ending(cls, now: datetime, timezone: str, days: int) -> Window:
        today = now.astimezone(ZoneInfo(timezone)).date()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def local_day(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).date().isoformat()


def bucket_value(image: dict[str, Any]) -> Any:
    """What a reading contributes to its day bucket: mg/dL (or LO/HI) for glucose, [sys, dia] for BP."""
    if image["type"] == "blood_glucose":
        return image.get("value_mg_dl") if image.get("value_mg_dl") is not None else image.get("meter_flag")
    return [image["systolic"], image["diastolic"]]


def _values(bucket: dict[str, Any]) -> list[Any]:
    return [value for name, value in sorted(bucket.items()) if name.startswith("r_")]


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def glucose_trend(buckets: list[dict[str, Any]], window: Window) -> GlucoseTrend:
    numbers: list[float] = []
    flags: list[str] = []
    daily: list[GlucoseDay] = []
    for bucket in sorted(buckets, key=lambda b: b["date"]):
        values = _values(bucket)
        day_numbers = [float(v) for v in values if not isinstance(v, str)]
        numbers += day_numbers
        flags += [v for v in values if isinstance(v, str)]
        daily.append(
            GlucoseDay(
                date=bucket["date"],
                mean=_round(fmean(day_numbers)) if day_numbers else None,
                min=_round(min(day_numbers, default=None)),
                max=_round(max(day_numbers, default=None)),
                count=len(values),
                meter_lo=values.count("LO"),
                meter_hi=values.count("HI"),
            )
        )
    count = len(numbers) + len(flags)
    lows, highs = flags.count("LO"), flags.count("HI")
    return GlucoseTrend(
        days=window.days,
        first_date=window.first.isoformat(),
        last_date=window.last.isoformat(),
        count=count,
        mean_mg_dl=_round(fmean(numbers)) if numbers else None,
        min_mg_dl=_round(min(numbers, default=None)),
        max_mg_dl=_round(max(numbers, default=None)),
        time_in_range_pct=_pct(sum(70 <= v <= 180 for v in numbers), count),
        below_70_pct=_pct(sum(v < 70 for v in numbers) + lows, count),
        below_54_pct=_pct(sum(v < 54 for v in numbers) + lows, count),
        above_180_pct=_pct(sum(v > 180 for v in numbers) + highs, count),
        above_250_pct=_pct(sum(v > 250 for v in numbers) + highs, count),
        days_with_readings=len(daily),
        daily=daily,
    )


def bp_trend(buckets: list[dict[str, Any]], window: Window) -> BpTrend:
    pairs: list[tuple[float, float]] = []
    daily: list[BpDay] = []
    for bucket in sorted(buckets, key=lambda b: b["date"]):
        day = [(float(s), float(d)) for s, d in _values(bucket)]
        if not day:
            continue
        pairs += day
        daily.append(
            BpDay(
                date=bucket["date"],
                mean_systolic=round(fmean(s for s, _ in day), 1),
                mean_diastolic=round(fmean(d for _, d in day), 1),
                min_systolic=min(s for s, _ in day),
                max_systolic=max(s for s, _ in day),
                min_diastolic=min(d for _, d in day),
                max_diastolic=max(d for _, d in day),
                count=len(day),
            )
        )
    mean_s = fmean(s for s, _ in pairs) if pairs else None
    mean_d = fmean(d for _, d in pairs) if pairs else None
    return BpTrend(
        days=window.days,
        first_date=window.first.isoformat(),
        last_date=window.last.isoformat(),
        count=len(pairs),
        mean_systolic=_round(mean_s),
        mean_diastolic=_round(mean_d),
        category_of_mean=bp_category(mean_s, mean_d) if mean_s is not None and mean_d is not None else None,
        at_goal_pct=_pct(sum(s < GOAL_SYSTOLIC and d < GOAL_DIASTOLIC for s, d in pairs), len(pairs)),
        days_with_readings=len(daily),
        daily=daily,
    )
